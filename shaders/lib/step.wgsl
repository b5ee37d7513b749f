// Included before every phase's own file (src/backend/gpu/shaders.rs `wgsl!`).

// The step being run and the batch geometry (same in every slot).
struct Step {
    step: u32,
    // Neurons of one instance (global ids 0..n_total); a record entry of instance
    // b carries id + b * n_total.
    n_total: u32,
    // Ring entries of one instance (instance b's rings start at b * ring_stride).
    ring_stride: u32,
    // Populations (ctl[4 + b * n_pops + pop] is instance b's non-finite flag).
    n_pops: u32,
}
