//! The local catalogue: implant systems, films, implant records and the SQLite store that holds them.
pub mod builtin;
pub mod db;
pub mod films;
pub mod images;
pub mod naming;
pub mod systems;
