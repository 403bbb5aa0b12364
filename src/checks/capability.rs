//! What a step needs of the engine beyond the Engine API every engine answers, and what the
//! learner is told when the engine cannot do it: "not available on Podman 4.3.1: …; instead …",
//! never a fail for something the learner could not have done there.
//!
//! A step declares what it needs in its data (`requires = ["volume-size-option"]`); steps whose
//! checks compare with this machine's files need [`Capability::HostFiles`] without saying so
//! (each check kind knows, [`crate::checks::Kind::host_files`]). Judging stays as it is: a step
//! that passes passes on any engine; only a step that does not pass, on an engine that lacks what
//! it needs, is reported as not available.

use serde::Deserialize;

use crate::checks::snapshot::EngineFacts;

/// One thing a step may need of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// A local volume with a size limit: `--opt o=size=64m` (with `type=tmpfs`).
    VolumeSizeOption,
    /// The engine sees this machine's files: a bind mount of the exercise folder shows them,
    /// and what a container writes there appears here.
    HostFiles,
}

impl Capability {
    /// Why `engine` cannot do it, with what to do instead; `None` when it can (or may).
    pub fn missing(self, engine: &EngineFacts) -> Option<String> {
        match self {
            Capability::VolumeSizeOption if engine.podman => Some(format!(
                "not available on {}: it refuses a size on a local volume (\"volume options \
                 size and inodes not supported. Filesystem does not support Project Quota\") \
                 unless its storage is on XFS with project quotas. Instead, create the volume \
                 without `o=size=…` (`docker volume create --driver local --opt type=tmpfs \
                 --opt device=tmpfs ramdisk`) to see a RAM volume, and cap memory with a \
                 container's own tmpfs, whose size every engine enforces: `docker run --tmpfs \
                 /scratch:size=64m …` (exercise 03)",
                engine.name
            )),
            Capability::HostFiles => engine.unseen_host.as_ref().map(|why| {
                format!(
                    "cannot be graded on a remote engine: {why}. This step needs an engine that \
                     sees this machine's folders: work on the engine's own machine (ssh there and \
                     run the workbook), or point the workbook at a local engine (`unset \
                     DOCKER_HOST`, or `docker context use default`)"
                )
            }),
            Capability::VolumeSizeOption => None,
        }
    }
}

/// The first of `needs` that `engine` lacks, as the message the learner gets.
pub fn unavailable(needs: &[Capability], engine: &EngineFacts) -> Option<String> {
    needs.iter().find_map(|c| c.missing(engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(podman: bool, unseen_host: Option<&str>) -> crate::checks::snapshot::EngineFacts {
        crate::checks::snapshot::EngineFacts::for_test(podman, unseen_host)
    }

    #[test]
    fn podman_lacks_the_size_option_and_says_what_to_do_instead() {
        let m = Capability::VolumeSizeOption
            .missing(&facts(true, None))
            .unwrap();
        assert!(m.starts_with("not available on Podman 4.3.1"), "{m}");
        assert!(m.contains("Instead"), "{m}");
        assert_eq!(
            Capability::VolumeSizeOption.missing(&facts(false, None)),
            None
        );
    }

    #[test]
    fn only_an_engine_found_not_to_see_this_machine_lacks_host_files() {
        assert_eq!(Capability::HostFiles.missing(&facts(false, None)), None);
        assert_eq!(Capability::HostFiles.missing(&facts(true, None)), None);
        let m = Capability::HostFiles
            .missing(&facts(
                false,
                Some("the engine at tcp://10.0.0.5:2376 did not see a file"),
            ))
            .unwrap();
        assert!(
            m.contains("remote engine") && m.contains("tcp://10.0.0.5:2376"),
            "{m}"
        );
    }

    #[test]
    fn names_in_data_are_kebab_case() {
        #[derive(Deserialize)]
        struct S {
            requires: Vec<Capability>,
        }
        let s: S = toml::from_str("requires = [\"volume-size-option\", \"host-files\"]").unwrap();
        assert_eq!(
            s.requires,
            [Capability::VolumeSizeOption, Capability::HostFiles]
        );
        assert!(toml::from_str::<S>("requires = [\"gpu\"]").is_err());
    }
}
