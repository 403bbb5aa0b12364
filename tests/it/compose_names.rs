//! A learner's compose project, however their Compose named it: the folder's name normalised
//! (upper case, a space, a dot), `-p NAME`, `COMPOSE_PROJECT_NAME` in the environment or in
//! `.env`, and Compose v2's top-level `name:`. Run with Compose v1 (`docker-compose`, found on
//! this machine) and, when `WORKBOOK_TEST_COMPOSE_V2_CONFIG` names a docker config holding it,
//! Compose v2 (see `compose_v2`). Each project is named `wbtest...-<pid>` in a temporary folder
//! of its own, with a compose file of its own (no `container_name:`), and taken down with its
//! volumes however the test ends.

use std::path::PathBuf;
use std::process::{Command, Output};

use workbook::checks::Status;
use workbook::curriculum::exercise::Exercise;
use workbook::grading::grade::{grade, Report};

use crate::util;

/// The service, a named volume and a bind of the folder's `data`, from the lab image.
const COMPOSE_FILE: &str = "services:
  trainer:
    image: workbook/tools
    command: [\"sleep\", \"300\"]
    network_mode: none
    volumes:
      - checkpoints:/data
      - ./data:/data2
volumes:
  checkpoints: {}
";

/// What graders ask of such a project: its service's container and mounts, then its volume.
const EXERCISE: &str = "format = 1
title = 'compose names'
lesson = 'x.md'
[[steps]]
id = 'up'
title = 'the service runs with its mounts'
task = 't'
hint = 'h'
  [[steps.checks]]
  kind = 'container-running'
  service = 'trainer'
  [[steps.checks]]
  kind = 'mount'
  service = 'trainer'
  destination = '/data'
  type = 'volume'
  compose_source = 'checkpoints'
  [[steps.checks]]
  kind = 'mount'
  service = 'trainer'
  destination = '/data2'
  type = 'bind'
  source = 'data'
[[steps]]
id = 'volume'
title = 'the volume is there'
task = 't'
hint = 'h'
  [[steps.checks]]
  kind = 'volume'
  compose_volume = 'checkpoints'
";

#[derive(Clone)]
enum Compose {
    V1,
    V2(std::ffi::OsString),
}

impl Compose {
    fn command(&self) -> Command {
        match self {
            Compose::V1 => Command::new("docker-compose"),
            Compose::V2(config) => {
                let mut c = Command::new("docker");
                c.arg("compose").env("DOCKER_CONFIG", config);
                c
            }
        }
    }

    fn tag(&self) -> &'static str {
        match self {
            Compose::V1 => "v1",
            Compose::V2(_) => "v2",
        }
    }
}

/// How the learner names the project.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Naming {
    Folder,
    Flag,
    Env,
    DotEnv,
    TopLevelName,
}

/// One compose project in a folder of its own, taken down with its volumes on drop.
struct Project {
    compose: Compose,
    dir: PathBuf,
    flag: Option<String>,
    env: Option<String>,
    name: String,
}

impl Project {
    fn run(&self, args: &[&str]) -> Output {
        let mut c = self.compose.command();
        c.current_dir(&self.dir).env_remove("COMPOSE_PROJECT_NAME");
        if let Some(env) = &self.env {
            c.env("COMPOSE_PROJECT_NAME", env);
        }
        if let Some(p) = &self.flag {
            c.args(["-p", p]);
        }
        c.args(args).output().expect("compose runs")
    }

    fn run_ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "compose {} in {}: {}{}",
            args.join(" "),
            self.dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "-t", "0"]);
        let _ = util::docker(&["volume", "rm", "-f", &format!("{}_checkpoints", self.name)]);
    }
}

fn step(report: &Report, id: &str) -> (Status, String) {
    let s = report.step(id).unwrap();
    (s.status, s.message.clone())
}

#[tokio::test]
async fn compose_projects_are_found_however_compose_named_them() {
    let _daemon = util::daemon_async().await;
    let engine = util::lab_engine().await;
    let docker = &engine.docker;
    let exercise = Exercise::parse("99-compose-names", EXERCISE).unwrap();
    let mut composes = vec![Compose::V1];
    match std::env::var_os("WORKBOOK_TEST_COMPOSE_V2_CONFIG") {
        Some(config) => composes.push(Compose::V2(config)),
        None => eprintln!("Compose v2 not run: WORKBOOK_TEST_COMPOSE_V2_CONFIG is not set"),
    }
    let pid = std::process::id();
    let root = tempfile::tempdir().unwrap();
    for compose in composes {
        let tag = compose.tag();
        for naming in [
            Naming::Folder,
            Naming::Flag,
            Naming::Env,
            Naming::DotEnv,
            Naming::TopLevelName,
        ] {
            // Compose v1 refuses a top-level `name:`.
            if naming == Naming::TopLevelName && matches!(compose, Compose::V1) {
                continue;
            }
            let chosen = format!("wbtest-{naming:?}-{tag}-{pid}").to_lowercase();
            let (folder, name) = match naming {
                // Upper case, a space and a dot, all dropped by both versions.
                Naming::Folder => (
                    format!("WbTest Upper.{tag}-{pid}"),
                    format!("wbtestupper{tag}-{pid}"),
                ),
                _ => (
                    format!("wbtest-folder-{naming:?}-{tag}-{pid}"),
                    chosen.clone(),
                ),
            };
            let dir = root.path().join(&folder);
            std::fs::create_dir_all(dir.join("data")).unwrap();
            let mut file = COMPOSE_FILE.to_string();
            if naming == Naming::TopLevelName {
                file = format!("name: {chosen}\n{file}");
            }
            std::fs::write(dir.join("compose.yaml"), file).unwrap();
            if naming == Naming::DotEnv {
                std::fs::write(dir.join(".env"), format!("COMPOSE_PROJECT_NAME={chosen}\n"))
                    .unwrap();
            }
            let project = Project {
                compose: compose.clone(),
                dir: dir.clone(),
                flag: (naming == Naming::Flag).then(|| chosen.clone()),
                env: (naming == Naming::Env).then(|| chosen.clone()),
                name: name.clone(),
            };
            let case = format!("{naming:?} with Compose {tag} in {folder:?}");
            project.run_ok(&["-f", "compose.yaml", "up", "-d"]);
            // Compose named it so: the volume carries that project.
            let labelled = util::docker_stdout(&[
                "volume",
                "ls",
                "-q",
                "--filter",
                &format!("label=com.docker.compose.project={name}"),
            ]);
            assert_eq!(labelled.trim(), format!("{name}_checkpoints"), "{case}");

            let up = grade(docker, &exercise, &dir).await;
            assert_eq!(up.status, Status::Pass, "{case}: {up:#?}");

            // Down (the volume stays): only a name the folder gives can still find it.
            project.run_ok(&["-f", "compose.yaml", "down", "-t", "0"]);
            let down = grade(docker, &exercise, &dir).await;
            let (status, message) = step(&down, "volume");
            match naming {
                Naming::Folder | Naming::DotEnv | Naming::TopLevelName => {
                    assert_eq!(status, Status::Pass, "{case} after down: {message}")
                }
                // `-p` and the shell's variable leave nothing in the folder.
                Naming::Flag | Naming::Env => {
                    assert_eq!(status, Status::Fail, "{case} after down: {message}");
                    assert!(message.contains("no volume `checkpoints`"), "{message}");
                }
            }
            drop(project);
            assert!(
                !util::docker_ok(&["volume", "inspect", &format!("{name}_checkpoints")]),
                "{case}: its volume is left behind"
            );
        }
    }
}
