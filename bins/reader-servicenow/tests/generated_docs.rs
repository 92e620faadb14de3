//! The generated documentation (example ini, README key table) matches the binary.

testkit::reader_docs_tests!(env!("CARGO_BIN_EXE_reader-servicenow"), "servicenow");
