//! The label picker: what the neighbours suggest first (keys 1–3, Tab), recent systems on the
//! next number keys, type-to-search over the catalogue and its aliases, the standard name
//! previewed before confirming, and adding a system.
//!
//! Why its own search: curators type what they call an implant ("straumann blt", "nobel active",
//! "BoneLevelTapered"); matching the catalogue's normalised keys of names and aliases, in that
//! order of exactness, puts the intended system first so Enter is usually right.

use egui::{Key, Modifiers, RichText};

use crate::catalogue::naming::key;
use crate::catalogue::systems::{Catalogue, System};
use crate::gui::state::Browser;

/// The number keys 1-9: the suggestions, then recent systems.
pub const NUMBER_KEYS: [Key; 9] = [
    Key::Num1,
    Key::Num2,
    Key::Num3,
    Key::Num4,
    Key::Num5,
    Key::Num6,
    Key::Num7,
    Key::Num8,
    Key::Num9,
];

/// Systems remembered for the number keys.
const RECENT: usize = 9;
/// Matches listed at most.
const SHOWN: usize = 12;

/// What the curator asked the picker for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Label the target images with this system.
    Apply(i64),
    /// Confirm the target images' current labels.
    ConfirmCurrent,
    /// Label the target images with the suggested or recent system on this number key.
    Quick(usize),
    /// Label the target images with the first suggestion (Tab).
    AcceptSuggestion,
    /// Add a system (and its manufacturer if new) to the catalogue.
    AddSystem {
        /// Manufacturer name.
        manufacturer: String,
        /// System name.
        system: String,
    },
}

/// The picker's state.
pub struct Picker {
    /// The search text.
    pub query: String,
    /// Highlighted match (Up/Down).
    pub highlight: usize,
    /// Label as confirmed (a curator's decision) rather than only labelled.
    pub confirm: bool,
    /// Recently applied systems, newest first.
    pub recent: Vec<i64>,
    /// The "new system" form.
    pub new_manufacturer: String,
    /// The "new system" form.
    pub new_system: String,
    /// The last labelling error.
    pub error: Option<String>,
    /// Put the keyboard in the search field next frame.
    pub focus: bool,
    /// The implants the suggestions were asked for (the targets when they were asked).
    pub suggested_for: Vec<i64>,
    /// What the neighbours suggest for them: catalogue system and share of the vote, best first.
    pub suggestions: Vec<(i64, f32)>,
}

impl Default for Picker {
    fn default() -> Self {
        Picker {
            query: String::new(),
            highlight: 0,
            confirm: true,
            recent: Vec::new(),
            new_manufacturer: String::new(),
            new_system: String::new(),
            error: None,
            focus: false,
            suggested_for: Vec::new(),
            suggestions: Vec::new(),
        }
    }
}

/// Id of the search field, so other panels can focus it.
pub fn search_id() -> egui::Id {
    egui::Id::unique("raiox-label-search")
}

impl Picker {
    /// Remember a system as recently used.
    pub fn used(&mut self, system_id: i64) {
        self.recent.retain(|&s| s != system_id);
        self.recent.insert(0, system_id);
        self.recent.truncate(RECENT);
    }

    /// The systems on the number keys, in order: the suggestions, then recent systems not
    /// suggested.
    pub fn quick(&self, targets: &[i64]) -> Vec<i64> {
        let mut quick: Vec<i64> = self.suggestions_for(targets).iter().map(|s| s.0).collect();
        for &r in &self.recent {
            if !quick.contains(&r) {
                quick.push(r);
            }
        }
        quick.truncate(NUMBER_KEYS.len());
        quick
    }

    /// The system on number key `n` (1-based) for `targets`.
    pub fn quick_at(&self, targets: &[i64], n: usize) -> Option<i64> {
        self.quick(targets).get(n.checked_sub(1)?).copied()
    }

    /// The suggestions, once they answer for `targets` (stale ones are not offered).
    pub fn suggestions_for(&self, targets: &[i64]) -> &[(i64, f32)] {
        if self.suggested_for == targets {
            &self.suggestions
        } else {
            &[]
        }
    }

    /// Draw the picker for the browser's target images; returns what the curator asked for.
    pub fn show(&mut self, ui: &mut egui::Ui, browser: &Browser) -> Option<Intent> {
        let catalogue = browser.catalogue.as_ref()?;
        let targets = browser.targets();
        let mut intent = None;
        ui.heading("Label");
        match targets.as_slice() {
            [] => {
                ui.label("Select an image to label it.");
                return None;
            }
            [one] => {
                let now = browser.row(*one).map(|r| r.caption()).unwrap_or_default();
                ui.label(now);
            }
            many => {
                ui.label(format!("{} images selected", many.len()));
            }
        }
        let suggested = self.suggestions_for(&targets).to_vec();
        if !suggested.is_empty() {
            ui.label("Suggested by similar implants (keys 1-3, Tab):");
            for (n, &(sid, share)) in suggested.iter().enumerate() {
                if let Some(s) = catalogue.system(sid) {
                    let text = format!("{} {}  {:.0} %", n + 1, catalogue.label(s), 100.0 * share);
                    if ui.button(text).clicked() {
                        intent = Some(Intent::Apply(sid));
                    }
                }
            }
            ui.separator();
        }
        let found = matches(catalogue, &self.query);
        self.highlight = self.highlight.min(found.len().saturating_sub(1));
        let focused = ui.memory(|m| m.has_focus(search_id()));
        let mut focus_stays = false;
        if focused {
            ui.input_mut(|i| {
                if i.consume_key(Modifiers::NONE, Key::ArrowDown) {
                    self.highlight = (self.highlight + 1).min(found.len().saturating_sub(1));
                }
                if i.consume_key(Modifiers::NONE, Key::ArrowUp) {
                    self.highlight = self.highlight.saturating_sub(1);
                }
                // In an empty search field the number keys and Tab work as outside it.
                if self.query.is_empty() {
                    for (n, key) in NUMBER_KEYS.iter().enumerate() {
                        if i.consume_key(Modifiers::NONE, *key) {
                            // The key's text event would type the digit into the field.
                            i.events.retain(|e| !matches!(e, egui::Event::Text(_)));
                            intent = Some(Intent::Quick(n + 1));
                        }
                    }
                    if i.consume_key(Modifiers::NONE, Key::Tab) {
                        intent = Some(Intent::AcceptSuggestion);
                        focus_stays = true;
                    }
                }
            });
        }
        let label = ui.label("Search system:");
        let field = ui.add(
            egui::TextEdit::singleline(&mut self.query)
                .id(search_id())
                .hint_text("e.g. straumann blt, nobel active")
                .desired_width(f32::INFINITY),
        );
        let field = field.labelled_by(label.id);
        if focus_stays {
            ui.memory_mut(|m| m.move_focus(egui::FocusDirection::None));
        }
        if self.focus {
            field.request_focus();
            self.focus = false;
        }
        if field.changed() {
            self.highlight = 0;
        }
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if enter {
            intent = match found.get(self.highlight) {
                Some(s) if !self.query.trim().is_empty() => Some(Intent::Apply(s.id)),
                _ => Some(Intent::ConfirmCurrent),
            };
            self.focus = true;
        }
        ui.checkbox(&mut self.confirm, "Mark as confirmed");
        let typed = !self.query.trim().is_empty();
        for (n, s) in found.iter().enumerate().take(SHOWN) {
            let text = catalogue.label(s);
            let chosen = ui.selectable_label(typed && n == self.highlight, &text);
            if chosen.clicked() {
                intent = Some(Intent::Apply(s.id));
            }
        }
        if !typed {
            ui.label("Type to search; Enter confirms the current label.");
        } else if found.is_empty() {
            ui.label("No system matches. Add it below.");
        }
        if let (true, Some(s), [one]) = (typed, found.get(self.highlight), targets.as_slice()) {
            if let Some(name) = browser.name_preview(*one, s) {
                ui.label(RichText::new(format!("Standard name: {name}")).monospace());
            }
        }
        let quick = self.quick(&targets);
        let offset = suggested.len();
        if quick.len() > offset {
            ui.separator();
            ui.label(format!("Recent (keys {}-9):", offset + 1));
            for (n, &sid) in quick.iter().enumerate().skip(offset) {
                if let Some(s) = catalogue.system(sid) {
                    if ui.button(format!("{} {}", n + 1, catalogue.label(s))).clicked() {
                        intent = Some(Intent::Apply(sid));
                    }
                }
            }
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        ui.collapsing("Add a system", |ui| {
            let l = ui.label("Manufacturer:");
            ui.text_edit_singleline(&mut self.new_manufacturer)
                .labelled_by(l.id);
            let l = ui.label("System:");
            ui.text_edit_singleline(&mut self.new_system).labelled_by(l.id);
            let ready = !self.new_manufacturer.trim().is_empty() && !self.new_system.trim().is_empty();
            if ui.add_enabled(ready, egui::Button::new("Add system")).clicked() {
                intent = Some(Intent::AddSystem {
                    manufacturer: self.new_manufacturer.trim().to_string(),
                    system: self.new_system.trim().to_string(),
                });
            }
        });
        intent
    }
}

/// Systems matching the curator's text, best first: exact name or alias, then prefix, then
/// substring, and within each a system's own names before its manufacturer's canonical name before
/// the manufacturer's aliases (so "straumann" lists Straumann's systems before those of a brand it
/// owns); every system when the text is empty.
pub fn matches<'a>(catalogue: &'a Catalogue, query: &str) -> Vec<&'a System> {
    let q = key(query);
    let mut scored: Vec<(u8, String, &System)> = catalogue
        .systems
        .iter()
        .filter_map(|s| {
            let label = catalogue.label(s);
            if q.is_empty() {
                return Some((0, label, s));
            }
            let score = names(catalogue, s)
                .iter()
                .filter_map(|(n, source)| {
                    let kind = if *n == q {
                        0
                    } else if n.starts_with(&q) {
                        1
                    } else if n.contains(&q) {
                        2
                    } else {
                        return None;
                    };
                    Some(kind * 3 + source)
                })
                .min()?;
            Some((score, label, s))
        })
        .collect();
    scored.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    scored.into_iter().map(|(_, _, s)| s).collect()
}

/// Keys a system answers to, with where each comes from: 0 its own names and aliases, 1 after its
/// manufacturer's canonical name, 2 after one of the manufacturer's aliases.
fn names(catalogue: &Catalogue, s: &System) -> Vec<(String, u8)> {
    let own: Vec<String> = std::iter::once(&s.name)
        .chain(&s.aliases)
        .map(|n| key(n))
        .collect();
    let mut all: Vec<(String, u8)> = own.iter().map(|o| (o.clone(), 0)).collect();
    if let Some(m) = catalogue.manufacturer(s.manufacturer_id) {
        for (i, maker) in std::iter::once(&m.name).chain(&m.aliases).enumerate() {
            let maker = key(maker);
            let source = if i == 0 { 1 } else { 2 };
            all.extend(own.iter().map(|o| (format!("{maker}{o}"), source)));
        }
    }
    all
}
