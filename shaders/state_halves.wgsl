// A recurrent state buffer (KvCache.states) holds two halves of `half`
// floats: the state after n positions is in half n % 2. A call over the
// positions p0 .. p0 + n - 1 reads half p0 % 2 and writes half
// (p0 + n) % 2, so a one-token step leaves the state it started from
// intact, and the token pipeline can drop a step it ran past a stop.
fn state_src(p0: u32, half: u32) -> u32 {
  return (p0 & 1u) * half;
}

fn state_dst(p0: u32, n: u32, half: u32) -> u32 {
  return ((p0 + n) & 1u) * half;
}
