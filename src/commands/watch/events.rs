//! The daemon's event stream, and which of its events may change the verdict.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::Stream;

use super::{CONTAINER_ACTIONS, VOLUME_ACTIONS};
use crate::docker::engine::Engine;
use crate::docker::labels;

/// Sorts daemon events: relevant ones trigger a re-grade. The workbook's own helper containers
/// (probes, seeders, bench runs: labelled `workbook.managed=true` with such a role) and the
/// volume mounts they cause are ignored, or each grading would trigger the next.
///
/// The daemon also logs a volume `create` each time a container names an existing volume
/// (every probe does), so a `create` of a volume known to exist changes nothing and is ignored;
/// without that, watching an exercise whose grading reads a volume re-graded without end.
#[derive(Debug, Default)]
pub struct EventFilter {
    /// Ids of helper containers seen lately (their volume mounts carry only the id).
    helpers: VecDeque<String>,
    /// Volumes known to exist: listed at the start, then kept by create and destroy events.
    volumes: HashSet<String>,
}

const KEPT_HELPERS: usize = 512;

impl EventFilter {
    /// A filter that knows these volumes exist.
    pub fn with_volumes(names: impl IntoIterator<Item = String>) -> EventFilter {
        EventFilter {
            volumes: names.into_iter().collect(),
            ..EventFilter::default()
        }
    }

    pub fn relevant(&mut self, ev: &EventMessage) -> bool {
        let action = ev.action.as_deref().unwrap_or_default();
        let id = ev
            .actor
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .unwrap_or_default();
        let attributes = ev.actor.as_ref().and_then(|a| a.attributes.as_ref());
        match ev.typ {
            Some(EventMessageTypeEnum::CONTAINER) => {
                if labels::is_helper(attributes) {
                    if !id.is_empty() && !self.helpers.iter().any(|h| h == id) {
                        if self.helpers.len() == KEPT_HELPERS {
                            self.helpers.pop_front();
                        }
                        self.helpers.push_back(id.to_string());
                    }
                    return false;
                }
                CONTAINER_ACTIONS.contains(&action)
            }
            Some(EventMessageTypeEnum::VOLUME) => {
                let by_helper = attributes
                    .and_then(|a| a.get("container"))
                    .is_some_and(|c| self.helpers.iter().any(|h| h == c));
                let volume = volume_of(ev).unwrap_or_default();
                match action {
                    "create" => self.volumes.insert(volume.to_string()) && !by_helper,
                    "destroy" | "remove" => {
                        self.volumes.remove(volume);
                        !by_helper
                    }
                    _ => !by_helper && VOLUME_ACTIONS.contains(&action),
                }
            }
            _ => false,
        }
    }
}

/// The volume an event is about: Docker names it in the actor's id, Podman in the attribute
/// `name`.
fn volume_of(ev: &EventMessage) -> Option<&str> {
    let actor = ev.actor.as_ref()?;
    actor.id.as_deref().filter(|id| !id.is_empty()).or_else(|| {
        actor
            .attributes
            .as_ref()
            .and_then(|a| a.get("name"))
            .filter(|_| ev.typ == Some(EventMessageTypeEnum::VOLUME))
            .map(String::as_str)
    })
}

/// Whether a relevant event may be the learner starting to act on one of `named`, the volumes
/// grading reads through probes that name them: a container stopping or going away (a
/// `docker volume rm` often follows), or one of those volumes changing.
pub fn unsettling(ev: &EventMessage, named: &HashSet<String>) -> bool {
    if named.is_empty() {
        return false;
    }
    let action = ev.action.as_deref().unwrap_or_default();
    match ev.typ {
        Some(EventMessageTypeEnum::CONTAINER) => {
            matches!(action, "destroy" | "remove" | "die" | "stop")
        }
        Some(EventMessageTypeEnum::VOLUME) => volume_of(ev).is_some_and(|v| named.contains(v)),
        _ => false,
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<EventMessage, bollard::errors::Error>>>>;

/// The daemon's container and volume events from `since` (unix seconds) on, so nothing that
/// happens while the first grading runs is missed.
pub(super) fn subscribe(engine: &Engine, since: u64) -> EventStream {
    let filters: HashMap<String, Vec<String>> = HashMap::from([
        (
            "type".to_string(),
            vec!["container".to_string(), "volume".to_string()],
        ),
        (
            "event".to_string(),
            CONTAINER_ACTIONS
                .iter()
                .chain(VOLUME_ACTIONS)
                .map(|a| a.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
    ]);
    let opts = EventsOptions {
        since: Some(since.to_string()),
        until: None,
        filters: Some(filters),
    };
    Box::pin(engine.docker.events(Some(opts)))
}
