//! Without the `gpu` feature, asking for the GPU backend is a typed error naming
//! the feature.
use astroglia::Error;
use astroglia::model::{Connect, Network};
use astroglia::sim::{BackendKind, SimOptions, Simulator};

#[test]
fn the_gpu_backend_without_the_gpu_feature_names_the_feature() {
    let p = Connect::FixedProbability {
        p: 0.1,
        allow_self: false,
    };
    let net = Network::coba_like(100, p.clone(), p, 10.0);
    let opts = SimOptions::default().backend(BackendKind::Gpu);
    let err = match Simulator::new(&net, opts) {
        Ok(_) => panic!("the GPU backend built without the gpu feature"),
        Err(e) => e,
    };
    assert!(
        matches!(err, Error::MissingFeature { feature: "gpu", .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the GPU backend needs astroglia built with the `gpu` feature"
    );
}
