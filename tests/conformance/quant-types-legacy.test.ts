// Weight types against llama.cpp, first of three files of similar cost
// (cases, tolerances and the comparison: quant-agreement.ts): F32, F16,
// BF16, the legacy 32-element types (Q4_0 .. Q8_0), IQ4_NL, and the
// ternary TQ1_0 and TQ2_0.

import { describeQuantAgreement } from './quant-agreement';

describeQuantAgreement('legacy');
