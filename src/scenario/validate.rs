//! Semantic checks of a parsed scenario. Every problem is collected, so a user fixes a file
//! in one pass.
