//! The questionnaire engine: XLSForm import, the form expression language, and the form
//! state (relevance, requirement, validity, calculated values) that the UI, the CLI and the
//! exports all use.

pub mod expr;
pub mod state;
mod types;
mod xlsform;

#[cfg(test)]
pub(crate) mod test_support;

pub use state::{Answers, CompiledForm, FormState, ItemState};
pub use xlsform::{import_xlsform, read_xlsform, Imported, Warning};

use shequ_core::{FormDefinition, Result};

/// The default scale (社区分析量表), compiled into the binary.
pub const DEFAULT_SCALE_XLSX: &[u8] =
    include_bytes!("../../../assets/instruments/community-analysis-scale.xlsx");
pub const DEFAULT_SCALE_NAME: &str = "community-analysis-scale.xlsx";

/// Reads the default scale.
pub fn default_scale() -> Result<FormDefinition> {
    read_xlsform(DEFAULT_SCALE_XLSX, DEFAULT_SCALE_NAME)
}
