// Weight types against llama.cpp, second of three files of similar cost
// (cases, tolerances and the comparison: quant-agreement.ts): the K-quants,
// IQ4_XS, the Q4_K_M and Q5_K_M mixes, and the FP4 types MXFP4 and NVFP4.

import { describeQuantAgreement } from './quant-agreement';

describeQuantAgreement('kquants');
