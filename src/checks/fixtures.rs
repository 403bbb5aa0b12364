//! Engine API model fixtures for the check unit tests, built from the JSON the daemon sends.

use std::path::Path;

use bollard::models::{ContainerInspectResponse, ContainerSummary, Volume};
use serde_json::{json, Value};

use crate::checks::snapshot::{FileFact, FileKind, Snapshot};
use crate::checks::VolumeRef;

pub fn volume(
    name: &str,
    driver: &str,
    labels: &[(&str, &str)],
    options: &[(&str, &str)],
) -> Volume {
    let map = |kv: &[(&str, &str)]| {
        kv.iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    serde_json::from_value(json!({
        "Name": name, "Driver": driver, "Mountpoint": format!("/var/lib/docker/volumes/{name}/_data"),
        "CreatedAt": "2026-11-27T10:00:00Z", "Labels": map(labels), "Options": map(options), "Scope": "local"
    }))
    .unwrap()
}

pub fn snapshot_with_volumes(volumes: &[Volume]) -> Snapshot {
    let mut s = Snapshot::new(Path::new("/nonexistent/workbook-exercise"));
    s.volumes = Ok(volumes.to_vec());
    s
}

pub fn file(content: &[u8], owner: u64, mode: u32) -> FileFact {
    FileFact {
        kind: FileKind::File,
        uid: Some(owner),
        gid: Some(owner),
        mode,
        size: content.len() as u64,
        content: Some(content.to_vec()),
    }
}

pub fn snapshot_with_file(vol: &str, path: &str, fact: Option<FileFact>) -> Snapshot {
    let mut s = snapshot_with_volumes(&[volume(vol, "local", &[], &[])]);
    s.files.insert(
        (VolumeRef::Named(vol.to_string()), path.to_string()),
        Ok(fact),
    );
    s
}

/// A `docker ps -a` entry; `mounts` are (type, volume name, destination).
pub fn summary(
    name: &str,
    state: &str,
    mounts: &[(&str, &str, &str)],
    labels: &[(&str, &str)],
) -> ContainerSummary {
    let mounts: Vec<Value> = mounts
        .iter()
        .map(|(t, n, d)| json!({"Type": t, "Name": n, "Destination": d, "RW": true, "Mode": "z"}))
        .collect();
    let labels: serde_json::Map<_, _> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    serde_json::from_value(json!({
        "Id": format!("id-{name}"), "Names": [format!("/{name}")], "Image": "workbook/tools",
        "State": state, "Status": if state == "running" { "Up 2 minutes" } else { "Exited (0) 1 minute ago" },
        "Labels": labels, "Mounts": mounts
    }))
    .unwrap()
}

/// A `docker inspect` body; `mounts` are (type, source, name, destination, rw), `tmpfs` the
/// `--tmpfs` map of HostConfig.
pub fn inspect_json(mounts: &[(&str, &str, &str, &str, bool)], tmpfs: &[(&str, &str)]) -> Value {
    let mounts: Vec<Value> = mounts
        .iter()
        .map(|(t, s, n, d, rw)| {
            let mut m = json!({"Type": t, "Source": s, "Destination": d, "RW": rw, "Mode": if *rw { "z" } else { "ro" }, "Propagation": ""});
            if !n.is_empty() {
                m["Name"] = json!(n);
                m["Driver"] = json!("local");
            }
            m
        })
        .collect();
    let tmpfs: serde_json::Map<_, _> = tmpfs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut host = json!({"NetworkMode": "default"});
    if !tmpfs.is_empty() {
        host["Tmpfs"] = Value::Object(tmpfs);
    }
    json!({"Mounts": mounts, "HostConfig": host, "Config": {"Hostname": "c0ffee123456"}})
}

/// A snapshot where container `name` is running and inspects as `info`.
pub fn snapshot_with_inspect(dir: &Path, name: &str, info: &Value) -> Snapshot {
    let mut s = Snapshot::new(dir);
    let mut info = info.clone();
    info["Id"] = json!(format!("id-{name}"));
    info["Name"] = json!(format!("/{name}"));
    let parsed: ContainerInspectResponse = serde_json::from_value(info).unwrap();
    s.containers = Ok(vec![summary(name, "running", &[], &[])]);
    s.inspected.insert(format!("id-{name}"), Ok(parsed));
    s
}
