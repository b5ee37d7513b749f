use astroglia::model::Network;
use astroglia::sim::{SimOptions, Simulator};
fn main() {
    let name = std::env::args().nth(1).unwrap_or("coba".into());
    let net = Network::from_toml_file(format!("/work/main/models/{name}.toml")).unwrap();
    let mut best = f64::MAX;
    for _ in 0..15 {
        let mut sim = Simulator::new(
            &net,
            SimOptions {
                seed: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        let t = std::time::Instant::now();
        sim.run_ms(1000.0).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{best:.4}");
}
