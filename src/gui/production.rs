//! Sync to production from the window: the settings (secrets masked, Test connection), the plan
//! first (a dry run), then the run with progress and Cancel, its summary, and the conflicts to resolve.
//!
//! Why a plan first: a sync uploads, overwrites and deletes in production; the curator sees exactly
//! what will change before anything does. All of it runs on the workers through `crate::sync`.

use crate::sync::config::Secret;
use crate::sync::{CheckReport, RemoteConfig, SyncItemReport, SyncReport};

/// What the curator asked the sync window for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Work out what a sync would do (dry run).
    Plan,
    /// Run the sync.
    Run,
    /// Test both connections with the settings in the form.
    Check(Box<RemoteConfig>),
    /// Save the settings in the form.
    Save(Box<RemoteConfig>),
    /// Resolve a conflict: keep this library's version, or take production's.
    Resolve {
        /// Image id.
        id: i64,
        /// Keep the local version.
        keep_local: bool,
    },
}

/// The editable settings: plain strings for the text fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    endpoint: String,
    bucket: String,
    region: String,
    access_key: String,
    secret_key: String,
    database_url: String,
    public_read: bool,
}

impl Form {
    fn from_config(c: &RemoteConfig) -> Form {
        Form {
            endpoint: c.spaces.endpoint.clone(),
            bucket: c.spaces.bucket.clone(),
            region: c.spaces.region.clone(),
            access_key: c.spaces.access_key.expose().to_string(),
            secret_key: c.spaces.secret_key.expose().to_string(),
            database_url: c.database.url.expose().to_string(),
            public_read: c.spaces.public_read,
        }
    }

    fn to_config(&self, base: &RemoteConfig) -> RemoteConfig {
        let mut c = base.clone();
        c.spaces.endpoint = self.endpoint.trim().to_string();
        c.spaces.bucket = self.bucket.trim().to_string();
        c.spaces.region = self.region.trim().to_string();
        c.spaces.access_key = Secret::new(self.access_key.trim());
        c.spaces.secret_key = Secret::new(self.secret_key.trim());
        c.database.url = Secret::new(self.database_url.trim());
        c.spaces.public_read = self.public_read;
        c
    }
}

/// The sync window's state.
#[derive(Default)]
pub struct SyncView {
    /// The window is shown.
    pub open: bool,
    /// The settings as loaded (None until the worker read them).
    pub config: Option<RemoteConfig>,
    form: Form,
    /// The last connection test.
    pub check: Option<CheckReport>,
    /// A test, plan or run is on its way.
    pub waiting: bool,
    /// The plan (dry run) shown before running.
    pub plan: Option<SyncReport>,
    /// The last run's report.
    pub report: Option<SyncReport>,
    /// The last error.
    pub error: Option<String>,
    /// A note after saving.
    pub saved: Option<String>,
}

impl SyncView {
    /// Settings arrived from the worker.
    pub fn loaded(&mut self, config: RemoteConfig) {
        self.form = Form::from_config(&config);
        self.config = Some(config);
    }

    /// A plan or a run ended.
    pub fn reported(&mut self, report: SyncReport) {
        self.waiting = false;
        self.error = None;
        if report.dry_run {
            self.plan = Some(report);
        } else {
            self.plan = None;
            self.report = Some(report);
        }
    }

    /// Draw the window (when open); `running` is the progress text of a running sync.
    pub fn window(&mut self, ctx: &egui::Context, running: Option<String>) -> Option<Intent> {
        let mut intent = None;
        let mut open = self.open;
        egui::Window::new("Sync to production")
            .open(&mut open)
            .default_width(560.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    let changed = self.settings(ui);
                    ui.separator();
                    intent = self.actions(ui, running).or(changed);
                });
            });
        self.open = open;
        intent
    }

    fn settings(&mut self, ui: &mut egui::Ui) -> Option<Intent> {
        let mut intent = None;
        let Some(base) = self.config.clone() else {
            ui.spinner();
            return None;
        };
        ui.collapsing("Settings (Spaces and PostgreSQL)", |ui| {
            let f = &mut self.form;
            egui::Grid::new("sync-settings").num_columns(2).show(ui, |ui| {
                for (name, value, secret) in [
                    ("Spaces endpoint", &mut f.endpoint, false),
                    ("Bucket", &mut f.bucket, false),
                    ("Region", &mut f.region, false),
                    ("Access key", &mut f.access_key, true),
                    ("Secret key", &mut f.secret_key, true),
                    ("Database URL", &mut f.database_url, true),
                ] {
                    let l = ui.label(name);
                    ui.add(
                        egui::TextEdit::singleline(value)
                            .password(secret)
                            .desired_width(340.0),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                }
            });
            ui.checkbox(&mut f.public_read, "Upload images public-read");
            ui.horizontal(|ui| {
                if ui.button("Test connection").clicked() {
                    intent = Some(Intent::Check(Box::new(f.to_config(&base))));
                }
                if ui.button("Save settings").clicked() {
                    intent = Some(Intent::Save(Box::new(f.to_config(&base))));
                }
            });
            if let Some(s) = &self.saved {
                ui.label(s);
            }
            if let Some(c) = &self.check {
                let line = |what: &str, problem: &Option<String>| match problem {
                    None => format!("{what}: OK"),
                    Some(p) => format!("{what}: {p}"),
                };
                ui.label(line("Spaces", &c.spaces));
                ui.label(format!(
                    "{} (TLS: {}){}",
                    line("Database", &c.database),
                    c.database_tls,
                    c.rows
                        .map(|n| format!(", {n} rows in production"))
                        .unwrap_or_default()
                ));
                if let Some(w) = &c.warning {
                    ui.colored_label(ui.visuals().warn_fg_color, w);
                }
            }
        });
        let missing = self.form.to_config(&base).missing();
        if !missing.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("Missing settings: {}", missing.join(", ")),
            );
        }
        intent
    }

    fn actions(&mut self, ui: &mut egui::Ui, running: Option<String>) -> Option<Intent> {
        let mut intent = None;
        let busy = self.waiting || running.is_some();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Show what will change"))
                .clicked()
            {
                intent = Some(Intent::Plan);
            }
            let can_run = !busy && self.plan.is_some();
            if ui.add_enabled(can_run, egui::Button::new("Run sync")).clicked() {
                intent = Some(Intent::Run);
            }
            if let Some(p) = &running {
                ui.spinner();
                ui.label(p);
            } else if self.waiting {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some(plan) = &self.plan {
            ui.heading("Plan");
            ui.label(plan.summary());
            items(ui, "plan-items", &plan.items);
        }
        if let Some(report) = &self.report {
            ui.heading("Last sync");
            ui.label(report.summary());
            for f in &report.failed {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("failed: {} {}", f.key, f.error.as_deref().unwrap_or("")),
                );
            }
            if !report.conflicts.is_empty() {
                ui.label("Conflicts (changed here and in production):");
                for c in &report.conflicts {
                    let Some(id) = c.id else { continue };
                    ui.horizontal(|ui| {
                        ui.label(format!("#{id} {} {}", c.key, c.error.as_deref().unwrap_or("")));
                        if ui.button(format!("Keep local #{id}")).clicked() {
                            intent = Some(Intent::Resolve { id, keep_local: true });
                        }
                        if ui.button(format!("Take production #{id}")).clicked() {
                            intent = Some(Intent::Resolve {
                                id,
                                keep_local: false,
                            });
                        }
                    });
                }
            }
        }
        intent
    }
}

fn items(ui: &mut egui::Ui, id: &str, items: &[SyncItemReport]) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body);
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(220.0)
        .show_rows(ui, row_height, items.len(), |ui, range| {
            for it in &items[range] {
                let id = it.id.map(|i| format!("#{i}")).unwrap_or_default();
                ui.label(format!("{:<12} {:<7} {}", it.action, id, it.key));
            }
        });
}
