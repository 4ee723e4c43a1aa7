// Weight types against llama.cpp, third of three files of similar cost
// (cases, tolerances and the comparison: quant-agreement.ts): the lattice
// types IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M (their grids
// read from the GPU's grid table).

import { describeQuantAgreement } from './quant-agreement';

describeQuantAgreement('lattice');
