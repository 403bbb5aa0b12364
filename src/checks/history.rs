//! What the daemon says happened to volumes: their removals, and the stretches of time in which
//! every removal is known.
//!
//! A volume's `CreatedAt` cannot tell a volume that was deleted and created again from one that
//! was restored in place: Docker Engine before 23 reports the last change of the volume's
//! `_data` folder as its creation time (moby#44719 fixed that in 23.0), so restoring files into
//! the old volume moves it too. The daemon's event history can: a `destroy` event of the volume.
//! Docker keeps only its last 256 events in memory, so a history is only evidence for the
//! stretch of time it really covers: from its oldest event on, every later event is in it (the
//! buffer drops the oldest first). This module keeps those stretches ([`VolumeHistory::windows`])
//! with the removals seen in them, merges what several gradings and `watch`'s live event stream
//! saw, and stores that in the workspace, so evidence outlives the daemon's small buffer.

use std::collections::BTreeMap;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use serde::{Deserialize, Serialize};

/// Removals kept per volume, and volumes kept, in a stored history.
pub(crate) const KEPT_REMOVALS: usize = 16;
pub(crate) const KEPT_VOLUMES: usize = 256;
/// Stored windows and removals older than this are dropped (nanoseconds: 30 days).
pub(crate) const KEPT_NANOS: i64 = 30 * 24 * 3600 * 1_000_000_000;

/// Volume removals known in stretches of time (unix nanoseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeHistory {
    /// Sorted, disjoint `[from, to]` stretches in which every volume removal is known.
    #[serde(default)]
    pub windows: Vec<(i64, i64)>,
    /// Volume name → times it was removed (sorted).
    #[serde(default)]
    pub removed: BTreeMap<String, Vec<i64>>,
}

/// What the history says of a volume since a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Removed at this time (the first removal after the moment).
    Removed(i64),
    /// The history covers the whole time from the moment to `until` and holds no removal.
    NotRemoved { covered_from: i64 },
    /// The history does not reach back that far (it starts at `covers_from`, if anywhere).
    Unknown { covers_from: Option<i64> },
}

impl VolumeHistory {
    /// A history of `events`, complete from the oldest of them to `until`.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a EventMessage>,
        until: i64,
    ) -> VolumeHistory {
        let mut reader = Reader::default();
        for ev in events {
            reader.push(ev);
        }
        reader.finish(Some(until))
    }

    /// Records that `name` was removed at `at`.
    pub fn note_removal(&mut self, name: &str, at: i64) {
        let times = self.removed.entry(name.to_string()).or_default();
        if let Err(i) = times.binary_search(&at) {
            times.insert(i, at);
        }
        if times.len() > KEPT_REMOVALS {
            let extra = times.len() - KEPT_REMOVALS;
            times.drain(..extra);
        }
    }

    /// Says that every volume removal from `from` to `to` is known.
    pub fn add_window(&mut self, from: i64, to: i64) {
        if to < from {
            return;
        }
        self.windows.push((from, to));
        self.windows.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.windows.len());
        for (f, t) in self.windows.drain(..) {
            match merged.last_mut() {
                Some(last) if f <= last.1 => last.1 = last.1.max(t),
                _ => merged.push((f, t)),
            }
        }
        self.windows = merged;
    }

    /// Adds what `other` knows.
    pub fn merge(&mut self, other: &VolumeHistory) {
        for (name, times) in &other.removed {
            for t in times {
                self.note_removal(name, *t);
            }
        }
        for (f, t) in &other.windows {
            self.add_window(*f, *t);
        }
    }

    /// Whether `name` was removed after `moment` (and before `until`), as far as is known.
    pub fn since(&self, name: &str, moment: i64, until: i64) -> Since {
        if let Some(t) = self
            .removed
            .get(name)
            .and_then(|ts| ts.iter().find(|t| **t >= moment))
        {
            return Since::Removed(*t);
        }
        match self
            .windows
            .iter()
            .find(|(f, t)| *f <= moment && *t >= until)
        {
            Some((f, _)) => Since::NotRemoved { covered_from: *f },
            None => Since::Unknown {
                covers_from: self
                    .windows
                    .iter()
                    .find(|(_, t)| *t >= until)
                    .map(|(f, _)| *f),
            },
        }
    }

    /// Drops what is older than `now` less the kept age, and the least recently removed
    /// volumes beyond the kept number.
    pub(crate) fn trim(&mut self, now: i64) {
        let oldest = now - KEPT_NANOS;
        self.windows.retain(|(_, t)| *t >= oldest);
        if let Some(first) = self.windows.first_mut() {
            first.0 = first.0.max(oldest);
        }
        for times in self.removed.values_mut() {
            times.retain(|t| *t >= oldest);
        }
        self.removed.retain(|_, times| !times.is_empty());
        while self.removed.len() > KEPT_VOLUMES {
            let least = self
                .removed
                .iter()
                .min_by_key(|(_, ts)| ts.last().copied().unwrap_or(i64::MIN))
                .map(|(n, ts)| (n.clone(), ts.last().copied().unwrap_or(i64::MIN)));
            let Some((name, last)) = least else { break };
            self.removed.remove(&name);
            // Its removals are forgotten: so is the time they happened in, or a window would
            // claim that nothing happened to it then.
            self.windows.retain(|(_, to)| *to > last);
            for w in &mut self.windows {
                w.0 = w.0.max(last + 1);
            }
        }
    }
}

/// Builds a history from events as they stream in, keeping only what matters of them.
#[derive(Debug, Default)]
pub struct Reader {
    history: VolumeHistory,
    oldest: Option<i64>,
    newest: Option<i64>,
}

impl Reader {
    pub fn push(&mut self, ev: &EventMessage) {
        let Some(t) = event_time(ev) else { return };
        self.oldest = Some(self.oldest.map_or(t, |o| o.min(t)));
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        if let Some(name) = removed_volume(ev) {
            self.history.note_removal(name, t);
        }
    }

    /// The history, complete from the oldest event to `until` (every event up to then was
    /// read), or to the newest event read (`None`: the reading stopped early).
    pub fn finish(mut self, until: Option<i64>) -> VolumeHistory {
        if let (Some(from), Some(newest)) = (self.oldest, self.newest) {
            let to = until.map_or(newest, |u| u.max(newest));
            self.history.add_window(from, to);
        }
        self.history
    }
}

/// The event's time in unix nanoseconds.
pub fn event_time(ev: &EventMessage) -> Option<i64> {
    ev.time_nano
        .filter(|n| *n > 0)
        .or_else(|| ev.time.filter(|s| *s > 0).map(|s| s * 1_000_000_000))
}

/// The name of the volume a removal event is about: Docker says `destroy` and puts the name in
/// the actor's id; Podman says `remove` and puts it in the attribute `name`.
pub fn removed_volume(ev: &EventMessage) -> Option<&str> {
    let removal = matches!(ev.action.as_deref(), Some("destroy" | "remove"));
    if ev.typ != Some(EventMessageTypeEnum::VOLUME) || !removal {
        return None;
    }
    let actor = ev.actor.as_ref()?;
    actor
        .attributes
        .as_ref()
        .and_then(|a| a.get("name"))
        .map(String::as_str)
        .or(actor.id.as_deref())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    const S: i64 = 1_000_000_000;

    fn ev(
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        name: Option<&str>,
        secs: i64,
    ) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some(id.into()),
                attributes: name.map(|n| [("name".to_string(), n.to_string())].into()),
            }),
            time: Some(secs),
            time_nano: Some(secs * S + 5),
            ..Default::default()
        }
    }

    #[test]
    fn a_history_is_evidence_only_for_the_time_it_covers() {
        use EventMessageTypeEnum::{CONTAINER, VOLUME};
        let events = [
            ev(CONTAINER, "create", "c1", None, 100),
            ev(VOLUME, "destroy", "ml-data", None, 120),
            // Podman: `remove`, and the name is an attribute.
            ev(VOLUME, "remove", "", Some("models"), 130),
            ev(VOLUME, "create", "ml-data", None, 121),
        ];
        let h = VolumeHistory::from_events(&events, 200 * S);
        assert_eq!(h.windows, vec![(100 * S + 5, 200 * S)]);
        assert_eq!(
            h.since("ml-data", 110 * S, 200 * S),
            Since::Removed(120 * S + 5)
        );
        assert_eq!(
            h.since("models", 110 * S, 200 * S),
            Since::Removed(130 * S + 5)
        );
        // Removed before the moment: not after it, and the history covers the time since.
        assert_eq!(
            h.since("ml-data", 125 * S, 200 * S),
            Since::NotRemoved {
                covered_from: 100 * S + 5
            }
        );
        // A moment before the oldest event: nothing can be said.
        assert_eq!(
            h.since("logs", 50 * S, 200 * S),
            Since::Unknown {
                covers_from: Some(100 * S + 5)
            }
        );
        // Nor past the end of what is covered.
        assert!(matches!(
            h.since("logs", 150 * S, 300 * S),
            Since::Unknown { covers_from: None }
        ));
        assert_eq!(
            VolumeHistory::from_events(&[], 200 * S),
            VolumeHistory::default()
        );
    }

    #[test]
    fn windows_from_several_gradings_join_when_they_overlap() {
        let mut h = VolumeHistory::default();
        h.add_window(10, 20);
        h.add_window(30, 40);
        assert_eq!(
            h.since("v", 15, 35),
            Since::Unknown {
                covers_from: Some(30)
            }
        );
        h.add_window(18, 31);
        assert_eq!(h.windows, vec![(10, 40)]);
        assert_eq!(h.since("v", 15, 35), Since::NotRemoved { covered_from: 10 });
        let mut other = VolumeHistory::default();
        other.note_removal("v", 25);
        other.add_window(50, 60);
        h.merge(&other);
        assert_eq!(h.windows, vec![(10, 40), (50, 60)]);
        assert_eq!(h.since("v", 15, 35), Since::Removed(25));
        h.add_window(5, 4);
        assert_eq!(h.windows.len(), 2, "an empty stretch adds nothing");
    }
}
