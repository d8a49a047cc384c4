//! The questionnaire engine: XLSForm import, the form expression language, and the form
//! state (relevance, requirement, validity, calculated values) that the UI, the CLI and the
//! exports all use.

pub mod expr;
pub mod state;
mod types;
mod xlsform;

#[cfg(test)]
pub(crate) mod test_support;

pub use state::{Answers, CompiledForm, FormState, ItemState, Record, Refusal};
pub use xlsform::{import_xlsform, read_sheets, read_xlsform, split_score_tag, Imported, Warning};

use shequ_core::{FormDefinition, Result};

/// The default scale (社区分析量表), compiled into the binary.
pub const DEFAULT_SCALE_XLSX: &[u8] =
    include_bytes!("../../../assets/instruments/community-analysis-scale.xlsx");
pub const DEFAULT_SCALE_NAME: &str = "community-analysis-scale.xlsx";

/// The default scale, read once per process (it is compiled in, so it never changes).
pub fn default_scale() -> Result<FormDefinition> {
    static SCALE: std::sync::OnceLock<Result<FormDefinition>> = std::sync::OnceLock::new();
    SCALE
        .get_or_init(|| read_xlsform(DEFAULT_SCALE_XLSX, DEFAULT_SCALE_NAME))
        .clone()
}
