//! The local catalogue: implant systems, image records and the SQLite store that holds them.
pub mod builtin;
pub mod db;
pub mod images;
pub mod naming;
pub mod systems;
