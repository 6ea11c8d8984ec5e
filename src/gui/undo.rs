//! Undo and redo of the curator's label and box changes.
//!
//! Why commands, not snapshots: a change is undone by sending the worker the change that restores
//! the previous state (the same `curate::label` / `curate::rederive` calls as any other edit), so an
//! undo is as safe as an edit and re-derives and re-embeds exactly like one.

use std::collections::BTreeMap;

use crate::catalogue::images::Status;
use crate::curate::{BoxChange, LabelChange};
use crate::gui::state::Row;
use crate::gui::worker::Command;
use crate::standardise::Fixture;

/// The label of an image before a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelState {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// System.
    pub system: Option<String>,
    /// Whether a curator had confirmed it.
    confirmed: bool,
}

impl LabelState {
    /// What a row is labelled as now.
    pub fn of(row: &Row) -> LabelState {
        LabelState {
            manufacturer: row.manufacturer.clone(),
            system: row.system.clone(),
            confirmed: row.status == Status::Confirmed,
        }
    }

    /// The change that brings an image back to this state.
    fn change(&self) -> LabelChange {
        match &self.system {
            None => LabelChange {
                unlabel: true,
                ..LabelChange::default()
            },
            Some(system) => LabelChange {
                manufacturer: self.manufacturer.clone(),
                system: Some(system.clone()),
                confirm: self.confirmed,
                ..LabelChange::default()
            },
        }
    }
}

/// One undoable edit.
#[derive(Debug, Clone)]
pub enum Edit {
    /// A label change applied to several images.
    Label {
        /// Each image's label before.
        before: Vec<(i64, LabelState)>,
        /// The change applied.
        change: LabelChange,
    },
    /// A box change of one implant.
    Box {
        /// Implant id.
        id: i64,
        /// Box before.
        before: Fixture,
        /// Box after.
        after: Fixture,
    },
}

impl Edit {
    /// Commands that make this edit happen.
    fn apply(&self) -> Vec<Command> {
        match self {
            Edit::Label { before, change } => vec![Command::Label {
                ids: before.iter().map(|(id, _)| *id).collect(),
                change: change.clone(),
            }],
            Edit::Box { id, after, .. } => vec![set_box(*id, *after)],
        }
    }

    /// Commands that take this edit back.
    fn revert(&self) -> Vec<Command> {
        match self {
            Edit::Label { before, .. } => {
                let mut groups: BTreeMap<&LabelState, Vec<i64>> = BTreeMap::new();
                for (id, state) in before {
                    groups.entry(state).or_default().push(*id);
                }
                groups
                    .into_iter()
                    .map(|(state, ids)| Command::Label {
                        ids,
                        change: state.change(),
                    })
                    .collect()
            }
            Edit::Box { id, before, .. } => vec![set_box(*id, *before)],
        }
    }

    /// Shown on the Undo button's tooltip.
    pub fn describe(&self) -> String {
        match self {
            Edit::Label { before, change } => format!(
                "label {} image(s) {}",
                before.len(),
                change.system.as_deref().unwrap_or("(confirm)")
            ),
            Edit::Box { id, .. } => format!("box of implant #{id}"),
        }
    }
}

fn set_box(id: i64, fixture: Fixture) -> Command {
    Command::SetBox {
        id,
        change: BoxChange {
            fixture: Some(fixture),
            ..BoxChange::default()
        },
    }
}

/// The undo and redo stacks.
#[derive(Default)]
pub struct History {
    undo: Vec<Edit>,
    redo: Vec<Edit>,
}

impl History {
    /// Remember an edit that was just sent; a new edit clears the redo stack.
    pub fn record(&mut self, edit: Edit) {
        self.undo.push(edit);
        self.redo.clear();
    }

    /// The commands that undo the latest edit.
    pub fn undo(&mut self) -> Option<Vec<Command>> {
        let edit = self.undo.pop()?;
        let commands = edit.revert();
        self.redo.push(edit);
        Some(commands)
    }

    /// The commands that redo the latest undone edit.
    pub fn redo(&mut self) -> Option<Vec<Command>> {
        let edit = self.redo.pop()?;
        let commands = edit.apply();
        self.undo.push(edit);
        Some(commands)
    }

    /// What Undo would take back.
    pub fn next_undo(&self) -> Option<&Edit> {
        self.undo.last()
    }

    /// What Redo would bring back.
    pub fn next_redo(&self) -> Option<&Edit> {
        self.redo.last()
    }
}
