//! Exercise 02's bind-mount checks against inspect bodies in Docker Desktop's shapes
//! (`tests/fixtures/docker-desktop/`, where each form comes from): a learner's folder that the
//! engine reports in its VM's form grades as that folder, and another folder still fails.

use std::path::Path;

use bollard::models::ContainerInspectResponse;
use serde_json::Value;

use super::fixtures::summary;
use super::{Check, Status};
use crate::checks::snapshot::Snapshot;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/docker-desktop/",
            $name
        ))
    };
}

/// Exercise 02's two mount checks (exercises/02-bind-mounts/exercise.toml).
const DATA: &str = "kind='mount'\ncontainer='trainer'\ndestination='/app/data'\ntype='bind'\nsource='data'\nread_only=false";
const MODELS: &str = "kind='mount'\ncontainer='trainer'\ndestination='/app/models'\ntype='bind'\nsource='models'\nread_only=true";

/// Without `HostConfig.Binds` and `HostConfig.Mounts`: `Mounts[].Source` alone.
fn engine_source_only(body: &str) -> String {
    let mut v: Value = serde_json::from_str(body).unwrap();
    v["HostConfig"]["Binds"] = Value::Null;
    v["HostConfig"]["Mounts"] = Value::Null;
    v.to_string()
}

fn verdict(body: &str, exercise_dir: &str, check: &str) -> (Status, String) {
    let info: ContainerInspectResponse = serde_json::from_str(body).unwrap();
    let mut snap = Snapshot::new(Path::new(exercise_dir));
    let mut listed = summary("trainer", "running", &[], &[]);
    listed.id = info.id.clone();
    snap.containers = Ok(vec![listed]);
    snap.inspected.insert(info.id.clone().unwrap(), Ok(info));
    let c: Check = toml::from_str(check).unwrap();
    c.validate().unwrap();
    let v = c.evaluate(&snap);
    (v.status, v.message)
}

fn assert_grades(body: &str, exercise_dir: &str, want: Status) {
    for check in [DATA, MODELS] {
        let (status, message) = verdict(body, exercise_dir, check);
        assert_eq!(status, want, "{exercise_dir}: {message}");
    }
}

#[test]
fn macos_host_mnt_is_the_learners_folder() {
    let body = fixture!("inspect-macos.json");
    let here = "/Users/me/docker-volumes-workbook/02-bind-mounts";
    assert_grades(body, here, Status::Pass);
    // The VM's path alone is enough: `/host_mnt/Users/...` is `/Users/...`.
    assert_grades(&engine_source_only(body), here, Status::Pass);
    // The same names in another workspace, and another folder of this one, are not it.
    for other in [
        "/Users/me/other-workbook/02-bind-mounts",
        "/Users/someone/docker-volumes-workbook/02-bind-mounts",
        "/host_mnt/Users/me/docker-volumes-workbook",
    ] {
        assert_grades(body, other, Status::Fail);
        assert_grades(&engine_source_only(body), other, Status::Fail);
    }
    let wrong = DATA.replace("source='data'", "source='models'");
    let (status, message) = verdict(body, here, &wrong);
    assert_eq!(status, Status::Fail);
    assert!(
        message.contains(
            "bind mount (read-write) of /host_mnt/Users/me/docker-volumes-workbook/02-bind-mounts/data \
             (given as /Users/me/docker-volumes-workbook/02-bind-mounts/data) but the exercise's models is \
             /Users/me/docker-volumes-workbook/02-bind-mounts/models"
        ),
        "{message}"
    );
}

#[test]
fn windows_drive_paths_are_the_learners_folder() {
    let body = fixture!("inspect-windows.json");
    for here in [
        // The workbook on Windows itself, in either case of drive letter (and as canonicalised).
        r"C:\Users\me\docker-volumes-workbook\02-bind-mounts",
        r"c:\Users\me\docker-volumes-workbook\02-bind-mounts",
        r"\\?\C:\Users\me\docker-volumes-workbook\02-bind-mounts",
        // The workbook in a WSL 2 distro, the workspace on the Windows drive.
        "/mnt/c/Users/me/docker-volumes-workbook/02-bind-mounts",
    ] {
        assert_grades(body, here, Status::Pass);
        assert_grades(&engine_source_only(body), here, Status::Pass);
    }
    for other in [
        r"D:\Users\me\docker-volumes-workbook\02-bind-mounts",
        r"C:\Users\me\other-workbook\02-bind-mounts",
        // Only the drive letter is case-blind.
        r"C:\Users\ME\docker-volumes-workbook\02-bind-mounts",
        "/mnt/d/Users/me/docker-volumes-workbook/02-bind-mounts",
        "/Users/me/docker-volumes-workbook/02-bind-mounts",
    ] {
        assert_grades(body, other, Status::Fail);
        assert_grades(&engine_source_only(body), other, Status::Fail);
    }
}

#[test]
fn a_wsl2_distro_folder_is_known_by_the_clients_path() {
    let body = fixture!("inspect-wsl2-distro.json");
    let here = "/home/me/docker-volumes-workbook/02-bind-mounts";
    assert_grades(body, here, Status::Pass);
    assert_grades(body, "/home/me/other/02-bind-mounts", Status::Fail);
    // Docker Desktop's hashed bind says nothing of the folder: without the client's path the
    // grader cannot know it, and says what it saw.
    let (status, message) = verdict(&engine_source_only(body), here, DATA);
    assert_eq!(status, Status::Fail);
    assert!(
        message.contains("docker-desktop-bind-mounts/Ubuntu-24.04/4d9e"),
        "{message}"
    );
}

/// The client's path of another destination says nothing of this one.
#[test]
fn a_client_path_counts_only_at_its_own_destination() {
    let mut v: Value = serde_json::from_str(fixture!("inspect-wsl2-distro.json")).unwrap();
    v["HostConfig"]["Binds"] =
        serde_json::json!(["/home/me/docker-volumes-workbook/02-bind-mounts/data:/app/other"]);
    let (status, _) = verdict(
        &v.to_string(),
        "/home/me/docker-volumes-workbook/02-bind-mounts",
        DATA,
    );
    assert_eq!(status, Status::Fail);
}
