//! Docker-save-like archives for the bundle tests.

use std::io::Write;

use crate::docker::{images, labels};

pub(super) fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    h
}

/// A Docker-save-like archive of the lab images (labelled `lab`), or of `busybox`.
pub(super) fn fake_archive(lab: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let layer = vec![7u8; 3000];
    b.append_data(&mut header(layer.len() as u64), "aaa/layer.tar", &layer[..])
        .unwrap();
    let mut manifest = Vec::new();
    let tags: Vec<&str> = if lab {
        images::ALL.to_vec()
    } else {
        vec!["busybox:1.36"]
    };
    for (i, tag) in tags.iter().enumerate() {
        let labels = if lab {
            serde_json::json!({labels::LAB_IMAGE: "true", labels::RECIPE: format!("r{i}")})
        } else {
            serde_json::Value::Null
        };
        let config =
            serde_json::to_vec(&serde_json::json!({"config": {"Labels": labels}})).unwrap();
        let name = format!("cfg{i}.json");
        b.append_data(&mut header(config.len() as u64), &name, &config[..])
            .unwrap();
        manifest.push(serde_json::json!({
            "Config": name, "RepoTags": [tag], "Layers": ["aaa/layer.tar"]
        }));
    }
    let m = serde_json::to_vec(&manifest).unwrap();
    b.append_data(&mut header(m.len() as u64), "manifest.json", &m[..])
        .unwrap();
    b.into_inner().unwrap()
}

pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
