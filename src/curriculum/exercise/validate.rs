//! The checks of [`Exercise::parse`] that need the whole exercise: ids, names, seed files and
//! exec targets.

use crate::util::error::Result;
use std::collections::HashSet;

use super::{bounds, check_lesson_name, is_docker_name, Exercise, FORMAT_VERSION};
use crate::checks::Check;
use crate::ui::safe_text;

impl Exercise {
    pub(super) fn validate(&self) -> Result<()> {
        let at = format!("exercises/{}/exercise.toml", self.slug);
        let d = &self.data;
        check_lesson_name(&d.lesson).map_err(|e| format!("{at}: {e}"))?;
        self.validate_names(&at)?;
        self.validate_setup_sizes(&at)?;
        self.validate_exec_targets(&at)?;
        for image in &d.images {
            if crate::docker::images::lab_image(image).is_none() {
                return Err(format!(
                    "{at}: images: `{}` is not a lab image (the workbook builds {})",
                    safe_text::line(image),
                    crate::docker::images::EXTRA.join(", ")
                )
                .into());
            }
        }
        if d.format != FORMAT_VERSION {
            return Err(format!(
                "{at}: format {} is not supported by this workbook (it reads format {FORMAT_VERSION}); \
                 update workbook or the exercise",
                d.format
            ).into());
        }
        if d.steps.is_empty() {
            return Err(format!("{at}: an exercise needs at least one [[steps]]").into());
        }
        let mut ids = HashSet::new();
        for step in &d.steps {
            if step.id.is_empty()
                || !step
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!(
                    "{at}: step id `{}` must be non-empty and use only letters, digits and '-'",
                    step.id
                )
                .into());
            }
            if !ids.insert(step.id.as_str()) {
                return Err(format!("{at}: step id `{}` is used twice", step.id).into());
            }
            if step.checks.is_empty() {
                return Err(format!("{at}: step `{}` has no checks", step.id).into());
            }
            for check in &step.checks {
                check
                    .validate()
                    .map_err(|e| format!("{at}: step `{}`: {e}", step.id))?;
            }
        }
        for m in &d.mistakes {
            if !ids.contains(m.step.as_str()) {
                return Err(format!(
                    "{at}: mistake `{}` names step `{}`, which does not exist",
                    m.id, m.step
                )
                .into());
            }
        }
        for c in &d.setup.containers {
            if !c.image.starts_with("workbook/") {
                return Err(format!(
                    "{at}: setup container `{}` uses image `{}`: setups use the lab images (workbook/...) only",
                    c.name, c.image
                ).into());
            }
            for v in &c.volumes {
                let source = v.split(':').next().unwrap_or("");
                if source.starts_with('/')
                    || source.starts_with('.')
                    || source.contains("docker.sock")
                {
                    return Err(format!(
                        "{at}: setup container `{}` mounts `{}`: setups may mount named volumes only, never host paths",
                        c.name,
                        safe_text::line(v)
                    ).into());
                }
                // Only the exercise's own setup volumes: Docker would create any other name
                // unlabelled, or mount a volume the workbook did not make.
                let mut parts = v.split(':');
                let (dest, mode) = (parts.nth(1).unwrap_or(""), parts.next());
                let own = d.setup.volumes.iter().any(|sv| sv.name == source);
                if !own
                    || !dest.starts_with('/')
                    || !safe_text::is_inert(v)
                    || v.contains('\n')
                    || !matches!(mode, None | Some("ro" | "rw"))
                    || parts.next().is_some()
                {
                    return Err(format!(
                        "{at}: setup container `{}` mounts `{}`: a setup container mounts the exercise's own \
                         [[setup.volumes]] only, as `VOLUME:/path` or `VOLUME:/path:ro`",
                        c.name,
                        safe_text::line(v)
                    ).into());
                }
            }
        }
        for path in &d.resources.files {
            if path.starts_with('/') || path.split('/').any(|p| p == "..") {
                return Err(format!(
                    "{at}: resource file `{}` must be relative to the exercise folder",
                    safe_text::line(path)
                )
                .into());
            }
        }
        Ok(())
    }

    /// Names the workbook passes to the daemon, or lists before removing: Docker's own
    /// charset, so no name can carry a control character into a confirmation.
    fn validate_names(&self, at: &str) -> Result<()> {
        let d = &self.data;
        let mut named: Vec<(String, &str)> = Vec::new();
        let mut resources = vec![("[resources]".to_string(), &d.resources)];
        resources.extend(
            d.mistakes
                .iter()
                .map(|m| (format!("mistake `{}` resources", m.id), &m.resources)),
        );
        resources.extend(
            d.variants
                .iter()
                .map(|v| (format!("variant `{}` resources", v.id), &v.resources)),
        );
        for (what, r) in resources {
            for (key, list) in [
                ("volumes", &r.volumes),
                ("containers", &r.containers),
                ("compose_volumes", &r.compose_volumes),
            ] {
                named.extend(list.iter().map(|n| (format!("{what} {key}"), n.as_str())));
            }
            for f in &r.files {
                if !safe_text::is_inert(f) {
                    return Err(format!(
                        "{at}: {what} files: `{}` holds control characters",
                        safe_text::line(f)
                    )
                    .into());
                }
            }
        }
        for v in &d.setup.volumes {
            named.push(("[[setup.volumes]] name".into(), v.name.as_str()));
        }
        for c in &d.setup.containers {
            named.push(("[[setup.containers]] name".into(), c.name.as_str()));
        }
        for (what, name) in named {
            if !is_docker_name(name) {
                return Err(format!(
                    "{at}: {what}: `{}` is not a Docker name (a letter or digit, then letters, digits, `_`, `.` or `-`)",
                    safe_text::line(name)
                ).into());
            }
        }
        for c in &d.setup.containers {
            let image_ok = c
                .image
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "/._:-".contains(ch));
            if !image_ok {
                return Err(format!(
                    "{at}: setup container `{}` uses image `{}`: setups use the lab images (workbook/...) only",
                    c.name,
                    safe_text::line(&c.image)
                ).into());
            }
        }
        Ok(())
    }

    /// Seed files: sizes within their bounds, modes that are octal, owners that exist.
    fn validate_setup_sizes(&self, at: &str) -> Result<()> {
        let mut total: u64 = 0;
        for (i, v) in self.data.setup.volumes.iter().enumerate() {
            for (j, f) in v.files.iter().enumerate() {
                let here = format!(
                    "{at}: setup.volumes[{i}].files[{j}] (`{}`)",
                    safe_text::line(&f.path)
                );
                if let Some(n) = f.random_bytes {
                    if n > bounds::RANDOM_BYTES {
                        return Err(format!(
                            "{here}: `random_bytes = {n}` is more than a seed file may hold (at most {} bytes, {} MiB)",
                            bounds::RANDOM_BYTES,
                            bounds::RANDOM_BYTES >> 20
                        ).into());
                    }
                }
                let size = match (&f.content, f.random_bytes) {
                    (Some(c), _) => c.len() as u64,
                    (None, Some(n)) => n,
                    (None, None) => 0,
                };
                total = total.saturating_add(size);
                if let Some(m) = &f.mode {
                    if !u32::from_str_radix(m, 8).is_ok_and(|m| m <= 0o7777) {
                        return Err(format!(
                            "{here}: mode `{}` is not an octal mode (\"0644\")",
                            safe_text::line(m)
                        )
                        .into());
                    }
                }
                for (key, id) in [("uid", f.uid), ("gid", f.gid)] {
                    if id.is_some_and(|id| id > u64::from(u32::MAX)) {
                        return Err(format!("{here}: `{key}` is more than {}", u32::MAX).into());
                    }
                }
                let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
                if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
                    return Err(format!(
                        "{here}: the path must name a file inside the volume (no `.` or `..`)"
                    )
                    .into());
                }
            }
        }
        if total > bounds::SETUP_BYTES {
            return Err(format!(
                "{at}: the setup's seed files hold {total} bytes together: a setup seeds at most {} bytes ({} MiB)",
                bounds::SETUP_BYTES,
                bounds::SETUP_BYTES >> 20
            ).into());
        }
        Ok(())
    }

    /// An exec check runs in a container of the exercise only: a compose `service` of the
    /// exercise folder (graders find services by the project's working directory, so never
    /// another folder's), or a `container` the exercise declares or sets up.
    fn validate_exec_targets(&self, at: &str) -> Result<()> {
        let own = self.own_containers();
        for step in &self.data.steps {
            for check in &step.checks {
                if let Check::Exec(e) = check {
                    if let Some(c) = &e.container {
                        if !own.contains(&c.as_str()) {
                            return Err(format!(
                                "{at}: step `{}`: `container = \"{}\"` of an exec check is not a container of this \
                                 exercise: an exec check runs only in a container the exercise declares \
                                 ([resources].containers) or sets up ([[setup.containers]]), or in a compose \
                                 `service` of the exercise folder",
                                step.id,
                                safe_text::line(c)
                            ).into());
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::checks::Target;
    use crate::curriculum::exercise::testkit::*;
    use crate::curriculum::exercise::Exercise;

    #[test]
    fn an_exec_check_runs_only_in_the_exercises_own_containers() {
        let exec = "  kind = \"exec\"\n  container = \"victim\"\n  command = [\"cat\", \"/x\"]\n";
        let err = Exercise::parse("00-t", &with_check(exec))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "exercises/00-t/exercise.toml: step `a`: `container = \"victim\"` of an exec check"
            ),
            "{err}"
        );
        let declared = format!(
            "{}[resources]\ncontainers = [\"victim\"]\n",
            with_check(exec)
        );
        let ex = Exercise::parse("00-t", &declared).unwrap();
        assert_eq!(
            ex.exec_commands()[0].to_string(),
            "in container victim: cat /x"
        );
        let setup = format!(
            "{}[[setup.volumes]]\nname = \"d\"\n[[setup.containers]]\nname = \"victim\"\nimage = \"workbook/tools\"\nvolumes = [\"d:/d\"]\n",
            with_check(exec)
        );
        Exercise::parse("00-t", &setup).unwrap();
        Exercise::parse("00-t", &with_check(&exec.replace("container", "service"))).unwrap();
        // The built-in exercises' exec checks all name compose services of their folder.
        for ex in crate::curriculum::catalog::exercises().unwrap() {
            for c in ex.exec_commands() {
                assert!(matches!(c.target, Target::Service(_)), "{}: {c}", ex.slug);
            }
        }
    }

    #[test]
    fn names_are_dockers_names() {
        let setup = |name: &str| format!("{MINIMAL}[[setup.volumes]]\nname = \"{name}\"\n");
        let err = Exercise::parse(
            "00-t",
            &setup("harmless\\u001b[2K\\r  - volume scratch (0 files)"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.to_string().contains("is not a Docker name"), "{err}");
        assert!(
            err.to_string()
                .contains("harmless\\x1b[2K\\r  - volume scratch"),
            "{err}"
        );
        Exercise::parse("00-t", &setup("ml-data_2.x")).unwrap();
        let mount = format!("{}[[setup.containers]]\nname = \"k\"\nimage = \"workbook/tools\"\nvolumes = [\"pgdata:/d\"]\n", setup("sv"));
        let err = Exercise::parse("00-t", &mount).unwrap_err().to_string();
        assert!(
            err.to_string()
                .contains("mounts the exercise's own [[setup.volumes]] only"),
            "{err}"
        );
        Exercise::parse("00-t", &mount.replace("pgdata:/d", "sv:/d:ro")).unwrap();
    }

    #[test]
    fn refuses_duplicate_ids_and_dangling_mistakes() {
        let twice = format!(
            "{MINIMAL}{}",
            &MINIMAL[MINIMAL.find("[[steps]]").unwrap()..]
        );
        assert!(Exercise::parse("00-t", &twice)
            .unwrap_err()
            .to_string()
            .contains("used twice"));
        let dangling =
            format!("{MINIMAL}\n[[mistakes]]\nid=\"m\"\nstep=\"zz\"\nrun=\"true\"\nexpect=\"x\"\n");
        assert!(Exercise::parse("00-t", &dangling)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }
}
