//! The local catalogue: implant systems, films, implant records, vectors and settings, and the SQLite
//! store that holds them. Each table is read and written only by its module here.
pub mod builtin;
pub mod checks;
pub mod db;
pub mod films;
pub mod heads;
pub mod history;
pub mod images;
pub mod naming;
pub mod settings;
pub mod systems;
pub mod vectors;
