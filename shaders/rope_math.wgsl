// Rotary embedding arithmetic shared by rope.wgsl, rope_kv.wgsl and
// attention_decode_split.wgsl (ROPE), the way ggml computes it (see
// rope.wgsl): the angle of pair i at position pos, an accurate (sin, cos),
// which two elements a pair holds and their rotation.

// pi/2 in three parts (Cody-Waite): q * PIO2_HI is exact for |q| < 2^16.
const PIO2_HI: f32 = 1.5703125;
const PIO2_MID: f32 = 0.0004838705062866211;
const PIO2_LO: f32 = -4.371138828673793e-08;
const TWO_OVER_PI: f32 = 0.6366197723675814;

// (sin, cos) to ~1e-7: built-in sin/cos may be far coarser (Vulkan allows
// 2^-11 absolute error), which shows in the logits.
fn sin_cos(theta: f32) -> vec2<f32> {
  let q = round(theta * TWO_OVER_PI);
  let r = ((theta - q * PIO2_HI) - q * PIO2_MID) - q * PIO2_LO;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0))));
  let quadrant = u32(i32(q) & 3);
  switch quadrant {
    case 0u: { return vec2<f32>(s, c); }
    case 1u: { return vec2<f32>(c, -s); }
    case 2u: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

// The query temperature of Llama 4 / Ministral 3 at position pos:
// 1 + scale * ln(floor(pos / length) + 1), or 1 when scale is 0.
fn temperature(pos: u32, scale: f32, length: u32) -> f32 {
  if (scale == 0.0) {
    return 1.0;
  }
  return 1.0 + scale * log(f32(pos / length) + 1.0);
}

// theta of pair i: pos * theta_scale^i (repeated f32 multiplication, as
// ggml), divided by the pair's frequency factor, then scaled linearly or
// mixed by YaRN's ramp over pairs corr_low..corr_high when ext_factor != 0.
fn rope_theta(pos: f32, i: u32, theta_scale: f32, freq_factor: f32, freq_scale: f32, ext_factor: f32, corr_low: f32, corr_high: f32) -> f32 {
  var theta = pos;
  for (var k = 0u; k < i; k++) {
    theta *= theta_scale;
  }
  theta /= freq_factor;
  var mixed = freq_scale * theta;
  if (ext_factor != 0.0) {
    let y = (f32(i) - corr_low) / max(0.001, corr_high - corr_low);
    let ramp_mix = (1.0 - min(1.0, max(0.0, y))) * ext_factor;
    mixed = mixed * (1.0 - ramp_mix) + theta * ramp_mix;
  }
  return mixed;
}

// The two elements of a head that pair i rotates: 2i and 2i + 1, or (NeoX)
// i and i + half_rot.
fn rope_pair(i: u32, half_rot: u32, neox: bool) -> vec2<u32> {
  return select(vec2<u32>(2u * i, 2u * i + 1u), vec2<u32>(i, i + half_rot), neox);
}

// (a, b) rotated by the angle whose (sin, cos), times the magnitude scale, is sc.
fn rope_rotate(a: f32, b: f32, sc: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a * sc.y - b * sc.x, a * sc.x + b * sc.y);
}
