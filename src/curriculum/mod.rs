//! The exercises and lessons: the exercise format, the embedded catalog, lessons, the book.

pub mod book;
pub mod catalog;
pub mod exercise;
pub mod lesson;
