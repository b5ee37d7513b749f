use astroglia::backend::{Backend, CpuBackend, GpuBackend, Spike};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let net = astroglia::Network::from_toml_file(&args[1]).unwrap();
    let seed: u64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(1);
    let steps: u64 = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(100);
    let built = astroglia::build::build(&net, seed).unwrap();
    let mut cpu = CpuBackend::new(built.clone());
    let mut gpu = GpuBackend::new(&built, None).unwrap();
    let mut prev: Vec<Spike> = vec![];
    for step in 0..steps {
        for (name, b) in [("cpu", &mut cpu as &mut dyn Backend), ("gpu", &mut gpu)] {
            b.inputs(step).unwrap();
            let _ = name;
        }
        for pi in 0..built.pops.len() {
            let (mut a, mut b) = (vec![], vec![]);
            if cpu.read_state(pi, "i_ext", &mut a).is_ok() {
                gpu.read_state(pi, "i_ext", &mut b).unwrap();
                let d = a.iter().zip(&b).position(|(x, y)| x.to_bits() != y.to_bits());
                if let Some(i) = d { println!("step {step} pop {pi} i_ext differs at {i}: {} vs {}", a[i], b[i]); return; }
            }
        }
        let mut pv = vec![]; let mut pu = vec![]; let mut px = vec![];
        let _ = cpu.read_state(0, "v", &mut pv); let _ = cpu.read_state(0, "u", &mut pu); let _ = cpu.read_state(0, "i_ext", &mut px);
        cpu.neurons(step).unwrap(); gpu.neurons(step).unwrap();
        for pi in 0..built.pops.len() {
            for var in ["v", "u", "ge", "gi", "i_exc", "i_inh"] {
                let (mut a, mut b) = (vec![], vec![]);
                if cpu.read_state(pi, var, &mut a).is_ok() {
                    gpu.read_state(pi, var, &mut b).unwrap();
                    let d = a.iter().zip(&b).position(|(x, y)| x.to_bits() != y.to_bits());
                    if let Some(i) = d { println!("step {step} pop {pi} {var} differs at {i}: {} vs {}", a[i], b[i]);
                    if let astroglia::build::Dynamics::Izhikevich(k, s) = &built.pops[0].dynamics {
                        // expected ring input from previous spikes
                        let mut re = 0i64; let mut ri = 0i64;
                        for pr in &built.projs { if pr.post != 0 { continue; }
                            for sp in &prev { let (pp, loc) = built.locate(sp.id).unwrap(); if pp != pr.pre { continue; }
                                for s_ in pr.row_ptr[loc as usize]..pr.row_ptr[loc as usize+1] { if pr.targets[s_ as usize] == i as u32 { if pr.receptor == 0 { re += pr.wfix[s_ as usize] as i64 } else { ri += pr.wfix[s_ as usize] as i64 } } } } }
                        let inv = built.pops[0].inv_scale;
                        println!("prev v {} u {} x {} re {re} ri {ri} inv {:?} a {} b {}", pv[i], pu[i], px[i], inv, s.a[i], s.b[i]);
                        let cur = re as f32 * inv[0] + ri as f32 * inv[1] + px[i];
                        let dv = |v: f32, u: f32, c: f32| (0.04 * v + 5.0) * v + 140.0 - u + c;
                        let mut v = pv[i]; let u = pu[i];
                        v = v + k.half_dt * dv(v, u, cur); v = v + k.half_dt * dv(v, u, cur);
                        let dvf = |v: f32, u: f32, c: f32| (0.04f32.mul_add(v, 5.0)).mul_add(v, 140.0) - u + c;
                        let mut w = pv[i]; w = k.half_dt.mul_add(dvf(w, u, cur), w); w = k.half_dt.mul_add(dvf(w, u, cur), w);
                        println!("recomputed unfused {v} fused {w} cur {cur}");
                        let (aa, bb) = (re as f32 * inv[0], ri as f32 * inv[1]);
                        for (cn, c) in [("(A+B)+x", (aa + bb) + px[i]), ("A+(B+x)", aa + (bb + px[i])), ("(A+x)+B", (aa + px[i]) + bb)] {
                            let dvs: [(&str, fn(f32,f32,f32)->f32); 4] = [
                                ("plain", |v, u, c| (0.04 * v + 5.0) * v + 140.0 - u + c),
                                ("fma1", |v, u, c| 0.04f32.mul_add(v, 5.0) * v + 140.0 - u + c),
                                ("fma2", |v, u, c| (0.04 * v + 5.0f32).mul_add(v, 140.0) - u + c),
                                ("fma12", |v, u, c| 0.04f32.mul_add(v, 5.0).mul_add(v, 140.0) - u + c),
                            ];
                            for (dn, f) in dvs {
                                for fused_step in [false, true] {
                                    let st = |v: f32, d: f32| if fused_step { k.half_dt.mul_add(d, v) } else { v + k.half_dt * d };
                                    let mut v = pv[i]; v = st(v, f(v, u, c)); v = st(v, f(v, u, c));
                                    println!("  {cn} {dn} fusedstep={fused_step}: {v}");
                                }
                            }
                        }
                    }
                    return; }
                }
            }
        }
        cpu.propagate(step).unwrap(); gpu.propagate(step).unwrap();
        for pi in 0..built.pops.len() {
            let a = cpu.ring(pi).to_vec(); let b = gpu.ring(pi).unwrap();
            if a != b { let i = a.iter().zip(&b).position(|(x,y)| x!=y).unwrap(); println!("step {step} ring {pi} differs at {i}: {} vs {} (len {})", a[i], b[i], a.len()); return; }
        }
        let (mut a, mut b): (Vec<Spike>, Vec<Spike>) = (vec![], vec![]);
        cpu.drain_spikes(&mut a).unwrap(); gpu.drain_spikes(&mut b).unwrap();
        a.sort();
        if a != b { println!("step {step} spikes differ: {} vs {}", a.len(), b.len()); return; }
        prev = a;
    }
    println!("all {steps} steps equal");
}
