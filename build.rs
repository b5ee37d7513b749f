//! Enables the AVX-512 neuron kernels (`cfg(avx512_kernels)`) when the compiler
//! has stable AVX-512 intrinsics and target features (Rust 1.89); older
//! compilers, down to the crate's rust-version, build the AVX2 kernels only.
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(avx512_kernels)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // "rustc 1.95.0 (59807616e 2026-04-14)" -> 95
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            v.split_whitespace()
                .nth(1)?
                .split('.')
                .nth(1)?
                .parse::<u32>()
                .ok()
        });
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo::rustc-cfg=avx512_kernels");
    }
}
