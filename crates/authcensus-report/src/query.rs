//! Running SQL and reading the (small, aggregated) results back as values.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use crate::ReportError;

/// One cell of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer.
    Int(i64),
    /// Any string.
    Str(String),
}

impl Value {
    /// The integer, 0 for anything else.
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(n) => *n,
            _ => 0,
        }
    }
    /// The count as `u64` (negative counts cannot occur; they read as 0).
    pub fn count(&self) -> u64 {
        u64::try_from(self.int()).unwrap_or(0)
    }
    /// The string; `None` for NULL or a number.
    pub fn opt_str(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    /// The string, or `(null)`.
    pub fn str_or_null(&self) -> String {
        self.opt_str().unwrap_or_else(|| "(null)".to_string())
    }
}

fn column_values(col: &ArrayRef, out: &mut Vec<Value>) -> Result<(), ReportError> {
    let dt = col.data_type();
    if dt.is_integer() {
        let c = cast(col, &DataType::Int64)?;
        let c = c.as_primitive::<Int64Type>();
        out.extend((0..c.len()).map(|i| {
            if c.is_null(i) {
                Value::Null
            } else {
                Value::Int(c.value(i))
            }
        }));
    } else if matches!(dt, DataType::Null) {
        out.extend((0..col.len()).map(|_| Value::Null));
    } else {
        let c = cast(col, &DataType::Utf8)?;
        let c = c.as_string::<i32>();
        out.extend((0..c.len()).map(|i| {
            if c.is_null(i) {
                Value::Null
            } else {
                Value::Str(c.value(i).to_string())
            }
        }));
    }
    Ok(())
}

/// Runs `sql` and returns its rows. Only for aggregated results: everything
/// is collected in memory.
///
/// # Errors
/// Planning or execution failed.
pub async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<Value>>, ReportError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut out = Vec::new();
    for batch in batches {
        out.extend(rows_of(&batch)?);
    }
    Ok(out)
}

/// The rows of one record batch.
///
/// # Errors
/// A column cannot be cast to a string or integer.
pub fn rows_of(batch: &RecordBatch) -> Result<Vec<Vec<Value>>, ReportError> {
    let mut out = Vec::new();
    {
        let mut cols: Vec<Vec<Value>> = Vec::with_capacity(batch.num_columns());
        for col in batch.columns() {
            let mut v = Vec::with_capacity(batch.num_rows());
            column_values(col, &mut v)?;
            cols.push(v);
        }
        for r in 0..batch.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| c.get(r).cloned().unwrap_or(Value::Null))
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// A SQL string literal (single quotes doubled).
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
