//! The generated documentation in this folder (`config.example.ini`, the `README.md` key
//! table) matches the binary.

testkit::reader_docs_tests!(env!("CARGO_BIN_EXE_reader-jira"));
