// The online-softmax merge of split decode attention's chunks, shared by
// attention_decode_combine and attention_decode_merge (each binds `scratch`
// and lays it out its own way): chunk c's score max m_c and exp-sum l_c at
// scratch[stats + 2c], + 1, and its weighted sum of values for one output
// element at scratch[partials + c * HEAD_DIM].

// M = max_c m_c.
fn chunks_max(stats: u32, n_chunks: u32) -> f32 {
  var big_m = scratch[stats];
  for (var c = 1u; c < n_chunks; c++) {
    big_m = max(big_m, scratch[stats + c * 2u]);
  }
  return big_m;
}

// sum_c e^(m_c - M) acc_c / sum_c e^(m_c - M) l_c.
fn merge_chunks(stats: u32, partials: u32, n_chunks: u32, big_m: f32) -> f32 {
  var big_l = 0.0;
  var acc = 0.0;
  for (var c = 0u; c < n_chunks; c++) {
    let w = exp(scratch[stats + c * 2u] - big_m);
    big_l += scratch[stats + c * 2u + 1u] * w;
    acc += scratch[partials + c * HEAD_DIM] * w;
  }
  return acc / big_l;
}
