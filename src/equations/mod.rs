//! User-written models: equation strings parsed into a typed expression tree
//! ([`ast`]), evaluated on the CPU and translated to WGSL.
pub mod ast;
pub mod math;
