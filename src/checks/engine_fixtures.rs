//! The checks against bodies a real Engine (20.10, API 1.41) sent, captured into
//! `tests/fixtures/engine-20.10/`: the shapes the synthetic fixtures assume are the real ones.

use std::path::Path;

use bollard::models::{ContainerInspectResponse, ContainerSummary, VolumeListResponse};

use super::{Check, Status};
use crate::checks::snapshot::Snapshot;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/engine-20.10/",
            $name
        ))
    };
}

fn snapshot() -> Snapshot {
    let mut snap = Snapshot::new(Path::new("/tmp/fx"));
    let containers: Vec<ContainerSummary> =
        serde_json::from_str(fixture!("containers.json")).unwrap();
    let volumes: VolumeListResponse = serde_json::from_str(fixture!("volumes.json")).unwrap();
    for body in [
        fixture!("inspect-fx-vol.json"),
        fixture!("inspect-fx-ro.json"),
        fixture!("inspect-fx-mount-ro.json"),
        fixture!("inspect-fx-tmpfs.json"),
        fixture!("inspect-fx-mount-tmpfs.json"),
        fixture!("inspect-fx-anon.json"),
    ] {
        let info: ContainerInspectResponse = serde_json::from_str(body).unwrap();
        snap.inspected.insert(info.id.clone().unwrap(), Ok(info));
    }
    snap.containers = Ok(containers);
    snap.volumes = Ok(volumes.volumes.unwrap_or_default());
    snap
}

fn verdict(check: &str) -> (Status, String) {
    let c: Check = toml::from_str(check).unwrap();
    c.validate().unwrap();
    let v = c.evaluate(&snapshot());
    (v.status, v.message)
}

#[test]
fn read_only_bind_both_syntaxes() {
    for name in ["fx-ro", "fx-mount-ro"] {
        let (s, m) = verdict(&format!(
            "kind='mount'\ncontainer='{name}'\ndestination='/app/models'\ntype='bind'\nsource='/tmp/fx/models'\nread_only=true"
        ));
        assert_eq!(s, Status::Pass, "{name}: {m}");
    }
}

#[test]
fn tmpfs_size_both_syntaxes() {
    let (s, m) = verdict("kind='tmpfs'\ncontainer='fx-tmpfs'\ndestination='/tmp'\nsize='1g'");
    assert_eq!(s, Status::Pass, "{m}");
    let (s, m) = verdict("kind='tmpfs'\ncontainer='fx-mount-tmpfs'\ndestination='/tmp'\nsize='1g'");
    assert_eq!(s, Status::Fail);
    assert!(m.contains("limited to 512 MiB"), "{m}");
    let (s, m) = verdict("kind='tmpfs'\ncontainer='fx-anon'\ndestination='/tmp'");
    assert_eq!(s, Status::Fail);
    assert!(m.contains("anonymous volume"), "{m}");
}

#[test]
fn named_volume_in_use() {
    let (s, m) = verdict("kind='mount'\ncontainer='fx-vol'\ndestination='/app/data'\ntype='volume'\nsource='fx-ml-data'\nread_only=false");
    assert_eq!(s, Status::Pass, "{m}");
    let (s, m) = verdict("kind='volume-unused'\nname='fx-ml-data'");
    assert_eq!(s, Status::Fail);
    assert!(
        m.contains("fx-vol (running)") && m.contains("docker rm -f fx-vol"),
        "{m}"
    );
    let (s, m) = verdict("kind='container-running'\ncontainer='fx-tmpfs'");
    assert_eq!(s, Status::Pass, "{m}");
}
