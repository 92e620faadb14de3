//! `servicenow_decode_structured`: valid `datadog_x_incident` envelopes (and a Table-API
//! record) with arbitrary JSON put at the envelope's and the diff's positions, so the fuzzer
//! spends its time past the JSON syntax.
//!
//! Checks: those of [`case_reader_fuzz::check_decoder`] (run by
//! [`case_reader_fuzz::check_structured_decoder`]), plus that no decode error repeats the
//! text of a comment or a work note.
#![no_main]

use case_reader_fuzz::{Slot, check_structured_decoder};
use libfuzzer_sys::fuzz_target;

const SKELETONS: &[&str] = &[
    r#"{"type":"datadog_x_incident","orgId":1001,"sysId":"be5fc89a31cc968c758ec576a4ba3425",
        "instanceName":"acme","updatedTime":"2024-03-04T10:15:00Z","updatedBy":"jane.roe",
        "data":{"correlationId":"5e1f0c0a-9b1e-4c0a-8d2e-000000000001","state":"7",
                "comment":"customer-visible comment","workNote":"internal work note",
                "sysModCount":"4","number":"INC0010001"}}"#,
    r#"{"type":"datadog_x_incident","orgId":"1001","sysId":"BE5FC89A31CC968C758EC576A4BA3425",
        "instanceName":"acme","updatedTime":"2024-03-04 10:15:00","updatedBy":"DataDog",
        "data":{"comment":"a\r\nb"}}"#,
    r#"{"result":{"sys_id":"be5fc89a31cc968c758ec576a4ba3425","state":"7","sys_mod_count":"4",
        "sys_updated_on":"2024-03-04 10:15:00","comments":"x"}}"#,
];

const SLOTS: &[Slot] = &[
    Slot::data("/type"),
    Slot::data("/orgId"),
    Slot::data("/sysId"),
    Slot::data("/instanceName"),
    Slot::data("/updatedTime"),
    Slot::data("/updatedBy"),
    Slot::data("/data"),
    Slot::data("/data/correlationId"),
    Slot::data("/data/state"),
    Slot::text("/data/comment"),
    Slot::text("/data/workNote"),
    Slot::data("/data/sysModCount"),
    Slot::data("/data/number"),
    Slot::data("/data/priority"),
    Slot::data("/result"),
    Slot::data("/result/sys_id"),
    Slot::data("/result/state"),
    Slot::data("/result/sys_mod_count"),
];

const DICTIONARY: &[&str] = &[
    "datadog_x_incident",
    "type",
    "orgId",
    "sysId",
    "instanceName",
    "updatedTime",
    "updatedBy",
    "data",
    "correlationId",
    "state",
    "comment",
    "workNote",
    "sysModCount",
    "number",
    "result",
    "sys_id",
    "sys_created_on",
    "sys_updated_on",
    "sys_mod_count",
    "display_value",
    "value",
    "link",
    "element",
    "element_id",
    "comments",
    "work_notes",
    "be5fc89a31cc968c758ec576a4ba3425",
    "0a52c3d4e5f60718293a4b5c6d7e8f90",
    "acme",
    "acme-dev",
    "DataDog",
    "datadog",
    "jane.roe",
    "INC0010001",
    "5e1f0c0a-9b1e-4c0a-8d2e-000000000001",
    "1",
    "2",
    "3",
    "6",
    "7",
    "8",
    "12",
    "",
    " ",
    "\t",
    "\r\n",
    "null",
    "-1",
    "0x10",
    "+4",
    "2024-03-04T10:15:00Z",
    "2024-03-04 10:15:00",
    "2024-03-04T10:15:00.123456789+14:00",
    "03/04/2024 10:15:00 AM",
    "9999-12-31 23:59:59",
    "0000-01-01 00:00:00",
    "2024-02-30 10:00:00",
    "é",
    "\u{200b}",
    "\u{10ffff}",
];

fuzz_target!(|data: &[u8]| {
    check_structured_decoder(
        &servicenow::ServiceNowDecoder::new(),
        data,
        SKELETONS,
        SLOTS,
        DICTIONARY,
    );
});
