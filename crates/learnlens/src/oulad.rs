//! The Open University Learning Analytics Dataset (OULAD, Kuzilek, Hlosta & Zdrahal 2017,
//! CC BY 4.0) read from its Parquet files, and mapped into the analytics crate's entities
//! (`sources.md`, "Demo sources").
//!
//! Layout read (the data-edu/oulad repackaging): one file per table under the data folder, and
//! the click table hive-partitioned as
//! `studentVle_ds/code_module=X/code_presentation=Y/*.parquet`. Numbers are stored as doubles
//! (integer and float columns are accepted too); dates are days relative to the start of the
//! module presentation.
//!
//! Invariants:
//! - A bad or missing file is an [`OuladError`] naming the file (and the row and column of a
//!   bad value), never a panic: only the Result-returning low-level column readers of the
//!   `parquet` crate are used, one row group at a time.
//! - The small tables are read whole ([`Oulad::courses`] …); the 10.6 M click rows are only
//!   ever streamed, one presentation at a time ([`Oulad::student_vle`]), one row group in
//!   memory.
//! - Where the data set is: `--data`, else `LEARNLENS_OULAD_PATH`, else
//!   `../shared/data/oulad` relative to the working directory ([`locate`]). It is read in
//!   place, never copied.
//!
//! Mapping ([`map`]): course = module presentation (`AAA-2013J`) started on 1 February (`B`) or
//! 1 October (`J`) of its year, 00:00 UTC; everything dated "day n" is stamped at noon of that
//! day, so a snapshot at noon of day d sees exactly the rows dated ≤ d.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// The environment variable that overrides the default location.
pub const PATH_ENV: &str = "LEARNLENS_OULAD_PATH";
/// The default location, relative to the working directory.
pub const DEFAULT_PATH: &str = "../shared/data/oulad";

/// Why OULAD could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OuladError {
    #[error(
        "OULAD data not found at {path} ({reason}); pass --data PATH or set {PATH_ENV}",
        path = .path.display()
    )]
    NotFound { path: PathBuf, reason: String },
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot read Parquet: {source}", path = .path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    #[error("{path}: no column `{column}`", path = .path.display())]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: column `{column}` has an unsupported type ({found})", path = .path.display())]
    ColumnType {
        path: PathBuf,
        column: &'static str,
        found: String,
    },
    #[error("{path}, row {row}: column `{column}`: {problem}", path = .path.display())]
    BadValue {
        path: PathBuf,
        row: u64,
        column: &'static str,
        problem: String,
    },
    #[error("bad presentation code `{0}` (expected a year and B or J, e.g. 2013J)")]
    BadPresentation(String),
}

/// The data folder to use: `explicit` (`--data`), else `LEARNLENS_OULAD_PATH`, else
/// [`DEFAULT_PATH`].
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    match std::env::var_os(PATH_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_PATH),
    }
}

// ---------------------------------------------------------------------------------------------
// typed rows
// ---------------------------------------------------------------------------------------------

/// A module presentation, e.g. module `AAA`, presentation `2013J`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Presentation {
    pub module: String,
    pub presentation: String,
}

impl Presentation {
    pub fn new(module: &str, presentation: &str) -> Self {
        Self {
            module: module.to_owned(),
            presentation: presentation.to_owned(),
        }
    }

    /// The course id of the mapping: `AAA-2013J`.
    pub fn course_id(&self) -> String {
        format!("{}-{}", self.module, self.presentation)
    }

    /// The year of the presentation code.
    pub fn year(&self) -> Result<i32, OuladError> {
        self.parse().map(|(y, _)| y)
    }

    fn parse(&self) -> Result<(i32, char), OuladError> {
        let bad = || OuladError::BadPresentation(self.presentation.clone());
        let code = self.presentation.as_str();
        let (year, term) = (
            code.get(..4).ok_or_else(bad)?,
            code.get(4..).ok_or_else(bad)?,
        );
        let year: i32 = year.parse().map_err(|_| bad())?;
        match term {
            "B" => Ok((year, 'B')),
            "J" => Ok((year, 'J')),
            _ => Err(bad()),
        }
    }

    /// Day 0 of the presentation: 1 February (`B`) or 1 October (`J`) of its year, 00:00 UTC.
    pub fn start(&self) -> Result<DateTime<Utc>, OuladError> {
        let (year, term) = self.parse()?;
        let month = if term == 'B' { 2 } else { 10 };
        NaiveDate::from_ymd_opt(year, month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .ok_or_else(|| OuladError::BadPresentation(self.presentation.clone()))
    }
}

/// Noon of day `day` of a presentation that started at `start` (`None` if out of range).
pub fn day_noon(start: DateTime<Utc>, day: i64) -> Option<DateTime<Utc>> {
    start
        .checked_add_signed(TimeDelta::try_days(day)?)?
        .checked_add_signed(TimeDelta::try_hours(12)?)
}

/// `courses.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseRow {
    pub presentation: Presentation,
    pub length_days: i64,
}

/// The kind of an OULAD assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssessmentType {
    /// Tutor-marked assessment.
    Tma,
    /// Computer-marked assessment.
    Cma,
    Exam,
}

/// `assessments.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentRow {
    pub presentation: Presentation,
    pub id_assessment: i64,
    pub assessment_type: AssessmentType,
    /// Due day (often missing for exams).
    pub date: Option<i64>,
    pub weight: f64,
}

/// A student's final result in a presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinalResult {
    Distinction,
    Pass,
    Fail,
    Withdrawn,
}

/// `studentInfo.parquet` (demographics kept as the source's strings).
#[derive(Debug, Clone, PartialEq)]
pub struct StudentInfoRow {
    pub presentation: Presentation,
    pub id_student: i64,
    pub gender: Option<String>,
    pub region: Option<String>,
    pub highest_education: Option<String>,
    pub imd_band: Option<String>,
    pub age_band: Option<String>,
    pub num_of_prev_attempts: Option<i64>,
    pub studied_credits: Option<i64>,
    pub disability: Option<String>,
    pub final_result: FinalResult,
}

/// `studentRegistration.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationRow {
    pub presentation: Presentation,
    pub id_student: i64,
    pub date_registration: Option<i64>,
    pub date_unregistration: Option<i64>,
}

/// `studentAssessment.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentAssessmentRow {
    pub id_assessment: i64,
    pub id_student: i64,
    pub date_submitted: i64,
    /// Carried over from an earlier presentation.
    pub is_banked: bool,
    /// Out of 100; missing for a few submissions.
    pub score: Option<f64>,
}

/// `vle.parquet`: the presentation's VLE sites.
#[derive(Debug, Clone, PartialEq)]
pub struct VleRow {
    pub id_site: i64,
    pub presentation: Presentation,
    pub activity_type: String,
    pub week_from: Option<i64>,
    pub week_to: Option<i64>,
}

/// One row of `studentVle_ds`: a student's clicks on one site on one day (the presentation
/// comes from the partition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudentVleRow {
    pub id_student: i64,
    pub id_site: i64,
    pub date: i64,
    pub sum_click: u32,
}

// ---------------------------------------------------------------------------------------------
// the data set
// ---------------------------------------------------------------------------------------------

/// The OULAD folder.
#[derive(Debug, Clone)]
pub struct Oulad {
    root: PathBuf,
}

/// The table files every reader expects.
const TABLES: [&str; 6] = [
    "courses.parquet",
    "assessments.parquet",
    "studentInfo.parquet",
    "studentRegistration.parquet",
    "studentAssessment.parquet",
    "studentVle_ds",
];

impl Oulad {
    /// Opens the data folder, checking that the tables are there.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, OuladError> {
        let root = root.into();
        if !root.is_dir() {
            return Err(OuladError::NotFound {
                path: root,
                reason: "no such folder".into(),
            });
        }
        if let Some(missing) = TABLES.iter().find(|t| !root.join(t).exists()) {
            return Err(OuladError::NotFound {
                reason: format!("{missing} is missing"),
                path: root,
            });
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All rows of `courses.parquet`.
    pub fn courses(&self) -> Result<Vec<CourseRow>, OuladError> {
        self.table("courses.parquet")
    }

    /// All rows of `assessments.parquet`.
    pub fn assessments(&self) -> Result<Vec<AssessmentRow>, OuladError> {
        self.table("assessments.parquet")
    }

    /// All rows of `studentInfo.parquet`.
    pub fn student_info(&self) -> Result<Vec<StudentInfoRow>, OuladError> {
        self.table("studentInfo.parquet")
    }

    /// All rows of `studentRegistration.parquet`.
    pub fn registrations(&self) -> Result<Vec<RegistrationRow>, OuladError> {
        self.table("studentRegistration.parquet")
    }

    /// All rows of `studentAssessment.parquet`.
    pub fn student_assessments(&self) -> Result<Vec<StudentAssessmentRow>, OuladError> {
        self.table("studentAssessment.parquet")
    }

    /// All rows of `vle.parquet`.
    pub fn vle(&self) -> Result<Vec<VleRow>, OuladError> {
        self.table("vle.parquet")
    }

    /// Streams one presentation's click rows (every `*.parquet` file of its partition, in
    /// name order), one row group in memory at a time.
    pub fn student_vle(&self, p: &Presentation) -> Result<RowStream<StudentVleRow>, OuladError> {
        Ok(RowStream::new(self.vle_files(p)?))
    }

    /// The number of click rows of one presentation, from the Parquet footers alone (no row
    /// is read), so a reader can size its buffers before [`Oulad::student_vle`].
    pub fn student_vle_len(&self, p: &Presentation) -> Result<u64, OuladError> {
        let mut rows = 0u64;
        for path in self.vle_files(p)? {
            let file = File::open(&path).map_err(|source| OuladError::Io {
                path: path.clone(),
                source,
            })?;
            let reader = SerializedFileReader::new(file).map_err(|source| OuladError::Parquet {
                path: path.clone(),
                source,
            })?;
            let n = reader.metadata().file_metadata().num_rows();
            rows += u64::try_from(n).map_err(|_| OuladError::Parquet {
                path,
                source: ParquetError::General("negative row count".into()),
            })?;
        }
        Ok(rows)
    }

    /// The `*.parquet` files of one presentation's click partition, in name order.
    fn vle_files(&self, p: &Presentation) -> Result<Vec<PathBuf>, OuladError> {
        let dir = self
            .root
            .join("studentVle_ds")
            .join(format!("code_module={}", p.module))
            .join(format!("code_presentation={}", p.presentation));
        let entries = std::fs::read_dir(&dir).map_err(|source| OuladError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| OuladError::Io {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(OuladError::NotFound {
                path: dir,
                reason: "no .parquet file in the partition".into(),
            });
        }
        files.sort();
        Ok(files)
    }

    /// Streams any table file under the root.
    pub fn stream<T: FromColumns>(&self, file: &str) -> RowStream<T> {
        RowStream::new(vec![self.root.join(file)])
    }

    fn table<T: FromColumns>(&self, file: &str) -> Result<Vec<T>, OuladError> {
        self.stream(file).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// columnar reading
// ---------------------------------------------------------------------------------------------

/// One decoded column of one row group.
#[derive(Debug)]
enum Column {
    Num(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// One row group of a file, the requested columns decoded.
#[derive(Debug)]
pub struct Batch {
    path: PathBuf,
    first_row: u64,
    names: &'static [&'static str],
    columns: Vec<Column>,
    len: usize,
}

/// Row `i` of a [`Batch`], with typed accessors that report bad values by file, row and
/// column.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    batch: &'a Batch,
    i: usize,
}

impl RowRef<'_> {
    fn name(&self, col: usize) -> &'static str {
        self.batch.names.get(col).copied().unwrap_or("?")
    }

    fn bad(&self, col: usize, problem: impl Into<String>) -> OuladError {
        OuladError::BadValue {
            path: self.batch.path.clone(),
            row: self.batch.first_row + self.i as u64,
            column: self.name(col),
            problem: problem.into(),
        }
    }

    /// A number, or `None` for a null.
    pub fn num(&self, col: usize) -> Result<Option<f64>, OuladError> {
        match self.batch.columns.get(col) {
            Some(Column::Num(v)) => Ok(v.get(self.i).copied().flatten()),
            _ => Err(self.bad(col, "expected a number")),
        }
    }

    /// A whole number (stored as a double), or `None` for a null.
    pub fn int(&self, col: usize) -> Result<Option<i64>, OuladError> {
        match self.num(col)? {
            None => Ok(None),
            Some(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
            Some(x) => Err(self.bad(col, format!("{x} is not a whole number"))),
        }
    }

    /// A whole number that must be present.
    pub fn req_int(&self, col: usize) -> Result<i64, OuladError> {
        self.int(col)?.ok_or_else(|| self.bad(col, "missing"))
    }

    /// A string, or `None` for a null.
    pub fn text(&self, col: usize) -> Result<Option<&str>, OuladError> {
        match self.batch.columns.get(col) {
            Some(Column::Text(v)) => Ok(v.get(self.i).and_then(|s| s.as_deref())),
            _ => Err(self.bad(col, "expected a string")),
        }
    }

    /// A string that must be present.
    pub fn req_text(&self, col: usize) -> Result<&str, OuladError> {
        self.text(col)?.ok_or_else(|| self.bad(col, "missing"))
    }

    /// A string, `None` when null or empty.
    fn opt_string(&self, col: usize) -> Result<Option<String>, OuladError> {
        Ok(self.text(col)?.filter(|s| !s.is_empty()).map(str::to_owned))
    }

    fn presentation(&self, module: usize, presentation: usize) -> Result<Presentation, OuladError> {
        Ok(Presentation::new(
            self.req_text(module)?,
            self.req_text(presentation)?,
        ))
    }
}

/// A typed row of a table: the columns it reads, by name, and how to build it.
pub trait FromColumns: Sized {
    /// Column names, in the order [`FromColumns::from_row`] indexes them.
    const COLUMNS: &'static [&'static str];
    fn from_row(row: RowRef<'_>) -> Result<Self, OuladError>;
}

impl FromColumns for CourseRow {
    const COLUMNS: &'static [&'static str] = &[
        "code_module",
        "code_presentation",
        "module_presentation_length",
    ];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        Ok(Self {
            presentation: r.presentation(0, 1)?,
            length_days: r.req_int(2)?,
        })
    }
}

impl FromColumns for AssessmentRow {
    const COLUMNS: &'static [&'static str] = &[
        "code_module",
        "code_presentation",
        "id_assessment",
        "assessment_type",
        "date",
        "weight",
    ];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        let assessment_type = match r.req_text(3)? {
            "TMA" => AssessmentType::Tma,
            "CMA" => AssessmentType::Cma,
            "Exam" => AssessmentType::Exam,
            other => return Err(r.bad(3, format!("unknown assessment type `{other}`"))),
        };
        Ok(Self {
            presentation: r.presentation(0, 1)?,
            id_assessment: r.req_int(2)?,
            assessment_type,
            date: r.int(4)?,
            weight: r.num(5)?.unwrap_or(0.0),
        })
    }
}

impl FromColumns for StudentInfoRow {
    const COLUMNS: &'static [&'static str] = &[
        "code_module",
        "code_presentation",
        "id_student",
        "gender",
        "region",
        "highest_education",
        "imd_band",
        "age_band",
        "num_of_prev_attempts",
        "studied_credits",
        "disability",
        "final_result",
    ];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        let final_result = match r.req_text(11)? {
            "Distinction" => FinalResult::Distinction,
            "Pass" => FinalResult::Pass,
            "Fail" => FinalResult::Fail,
            "Withdrawn" => FinalResult::Withdrawn,
            other => return Err(r.bad(11, format!("unknown final result `{other}`"))),
        };
        Ok(Self {
            presentation: r.presentation(0, 1)?,
            id_student: r.req_int(2)?,
            gender: r.opt_string(3)?,
            region: r.opt_string(4)?,
            highest_education: r.opt_string(5)?,
            imd_band: r.opt_string(6)?,
            age_band: r.opt_string(7)?,
            num_of_prev_attempts: r.int(8)?,
            studied_credits: r.int(9)?,
            disability: r.opt_string(10)?,
            final_result,
        })
    }
}

impl FromColumns for RegistrationRow {
    const COLUMNS: &'static [&'static str] = &[
        "code_module",
        "code_presentation",
        "id_student",
        "date_registration",
        "date_unregistration",
    ];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        Ok(Self {
            presentation: r.presentation(0, 1)?,
            id_student: r.req_int(2)?,
            date_registration: r.int(3)?,
            date_unregistration: r.int(4)?,
        })
    }
}

impl FromColumns for StudentAssessmentRow {
    const COLUMNS: &'static [&'static str] = &[
        "id_assessment",
        "id_student",
        "date_submitted",
        "is_banked",
        "score",
    ];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        let score = match r.num(4)? {
            Some(s) if !s.is_finite() => return Err(r.bad(4, format!("{s} is not a score"))),
            s => s,
        };
        Ok(Self {
            id_assessment: r.req_int(0)?,
            id_student: r.req_int(1)?,
            date_submitted: r.req_int(2)?,
            is_banked: r.int(3)?.unwrap_or(0) != 0,
            score,
        })
    }
}

impl FromColumns for VleRow {
    const COLUMNS: &'static [&'static str] = &[
        "id_site",
        "code_module",
        "code_presentation",
        "activity_type",
        "week_from",
        "week_to",
    ];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        Ok(Self {
            id_site: r.req_int(0)?,
            presentation: r.presentation(1, 2)?,
            activity_type: r.req_text(3)?.to_owned(),
            week_from: r.int(4)?,
            week_to: r.int(5)?,
        })
    }
}

impl FromColumns for StudentVleRow {
    const COLUMNS: &'static [&'static str] = &["id_student", "id_site", "date", "sum_click"];
    fn from_row(r: RowRef<'_>) -> Result<Self, OuladError> {
        let clicks = r.req_int(3)?;
        Ok(Self {
            id_student: r.req_int(0)?,
            id_site: r.req_int(1)?,
            date: r.req_int(2)?,
            sum_click: u32::try_from(clicks)
                .map_err(|_| r.bad(3, format!("{clicks} is not a click count")))?,
        })
    }
}

/// An open Parquet file being read one row group at a time.
struct OpenFile {
    path: PathBuf,
    reader: SerializedFileReader<File>,
    /// File column index of each requested column.
    indices: Vec<usize>,
    next_group: usize,
    rows_before: u64,
}

impl OpenFile {
    fn open(path: PathBuf, names: &'static [&'static str]) -> Result<Self, OuladError> {
        let file = File::open(&path).map_err(|source| OuladError::Io {
            path: path.clone(),
            source,
        })?;
        let reader = SerializedFileReader::new(file).map_err(|source| OuladError::Parquet {
            path: path.clone(),
            source,
        })?;
        let schema = reader.metadata().file_metadata().schema_descr();
        let mut indices = Vec::with_capacity(names.len());
        for name in names {
            let found = (0..schema.num_columns()).find(|&i| {
                let c = schema.column(i);
                c.path().parts().len() == 1 && c.name() == *name
            });
            let Some(i) = found else {
                return Err(OuladError::MissingColumn { path, column: name });
            };
            let c = schema.column(i);
            if c.max_rep_level() != 0 {
                return Err(OuladError::ColumnType {
                    path,
                    column: name,
                    found: "a repeated column".into(),
                });
            }
            indices.push(i);
        }
        Ok(Self {
            path,
            reader,
            indices,
            next_group: 0,
            rows_before: 0,
        })
    }

    fn parquet_err(&self, source: ParquetError) -> OuladError {
        OuladError::Parquet {
            path: self.path.clone(),
            source,
        }
    }

    /// The next row group, or `None` at the end of the file.
    fn next_batch(&mut self, names: &'static [&'static str]) -> Result<Option<Batch>, OuladError> {
        if self.next_group >= self.reader.num_row_groups() {
            return Ok(None);
        }
        let group = self
            .reader
            .get_row_group(self.next_group)
            .map_err(|e| self.parquet_err(e))?;
        let len = usize::try_from(group.metadata().num_rows())
            .map_err(|_| self.parquet_err(ParquetError::General("negative row count".into())))?;
        let mut columns = Vec::with_capacity(self.indices.len());
        for (&i, &name) in self.indices.iter().zip(names) {
            let max_def = group.metadata().column(i).column_descr().max_def_level();
            let reader = group
                .get_column_reader(i)
                .map_err(|e| self.parquet_err(e))?;
            let col = match reader {
                ColumnReader::DoubleColumnReader(mut r) => {
                    read_all(&mut r, len, max_def, Some).map(Column::Num)
                }
                ColumnReader::FloatColumnReader(mut r) => {
                    read_all(&mut r, len, max_def, |x| Some(f64::from(x))).map(Column::Num)
                }
                ColumnReader::Int32ColumnReader(mut r) => {
                    read_all(&mut r, len, max_def, |x| Some(f64::from(x))).map(Column::Num)
                }
                ColumnReader::Int64ColumnReader(mut r) => {
                    read_all(&mut r, len, max_def, |x| Some(x as f64)).map(Column::Num)
                }
                ColumnReader::ByteArrayColumnReader(mut r) => read_all(&mut r, len, max_def, |b| {
                    b.as_utf8().ok().map(str::to_owned)
                })
                .map(Column::Text),
                _ => {
                    return Err(OuladError::ColumnType {
                        path: self.path.clone(),
                        column: name,
                        found: format!("{:?}", group.metadata().column(i).column_type()),
                    });
                }
            }
            .map_err(|e| self.parquet_err(e))?;
            columns.push(col);
        }
        let batch = Batch {
            path: self.path.clone(),
            first_row: self.rows_before,
            names,
            columns,
            len,
        };
        self.next_group += 1;
        self.rows_before += len as u64;
        Ok(Some(batch))
    }
}

/// Reads exactly `len` values (nulls as `None`) of one flat column chunk; a value that
/// `convert` rejects (e.g. invalid UTF-8) is an error.
fn read_all<T: DataType, U>(
    reader: &mut ColumnReaderImpl<T>,
    len: usize,
    max_def: i16,
    convert: impl Fn(T::T) -> Option<U>,
) -> Result<Vec<Option<U>>, ParquetError>
where
    T::T: Clone,
{
    let mut defs: Vec<i16> = Vec::with_capacity(len);
    let mut values: Vec<T::T> = Vec::with_capacity(len);
    let mut records = 0;
    while records < len {
        let (r, _, _) = reader.read_records(len - records, Some(&mut defs), None, &mut values)?;
        if r == 0 {
            break;
        }
        records += r;
    }
    if records != len {
        return Err(ParquetError::General(format!(
            "column chunk holds {records} values, the row group {len}"
        )));
    }
    let mut values = values.into_iter();
    let mut out = Vec::with_capacity(len);
    for k in 0..len {
        let present = max_def == 0 || defs.get(k).is_some_and(|d| *d == max_def);
        if !present {
            out.push(None);
            continue;
        }
        let v = values
            .next()
            .ok_or_else(|| ParquetError::General("fewer values than definition levels".into()))?;
        let converted = convert(v)
            .ok_or_else(|| ParquetError::General(format!("row {k}: value not readable")))?;
        out.push(Some(converted));
    }
    Ok(out)
}

/// A stream of typed rows over one or more files, one row group decoded at a time.
pub struct RowStream<T> {
    files: std::vec::IntoIter<PathBuf>,
    open: Option<OpenFile>,
    batch: Option<Batch>,
    pos: usize,
    failed: bool,
    _row: std::marker::PhantomData<fn() -> T>,
}

impl<T: FromColumns> RowStream<T> {
    fn new(files: Vec<PathBuf>) -> Self {
        Self {
            files: files.into_iter(),
            open: None,
            batch: None,
            pos: 0,
            failed: false,
            _row: std::marker::PhantomData,
        }
    }

    /// Makes `self.batch` hold an unread row, or returns `Ok(false)` at the end.
    fn fill(&mut self) -> Result<bool, OuladError> {
        loop {
            if let Some(b) = &self.batch
                && self.pos < b.len
            {
                return Ok(true);
            }
            self.batch = None;
            self.pos = 0;
            if let Some(open) = self.open.as_mut() {
                match open.next_batch(T::COLUMNS)? {
                    Some(b) => {
                        self.batch = Some(b);
                        continue;
                    }
                    None => self.open = None,
                }
            }
            match self.files.next() {
                Some(path) => self.open = Some(OpenFile::open(path, T::COLUMNS)?),
                None => return Ok(false),
            }
        }
    }
}

impl<T: FromColumns> Iterator for RowStream<T> {
    type Item = Result<T, OuladError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.fill() {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let batch = self.batch.as_ref()?;
        let row = T::from_row(RowRef { batch, i: self.pos });
        self.pos += 1;
        if row.is_err() {
            self.failed = true;
        }
        Some(row)
    }
}

// ---------------------------------------------------------------------------------------------
// mapping into the analytics entities
// ---------------------------------------------------------------------------------------------

pub mod map {
    //! OULAD rows → the analytics crate's entities (`sources.md`, "Demo sources"). Pure
    //! functions; the caller supplies the presentation's start ([`Presentation::start`]).
    //!
    //! - Organisation: one, [`ORG_ID`]. User: one per `id_student`, id = the number, role
    //!   `learner`, an unreachable `@oulad.invalid` address, created at the first registration.
    //! - Course: id `AAA-2013J`, title `AAA 2013J`, organisation [`ORG_ID`]. OULAD has no
    //!   trainers, skills, modules or expected hours: `trainerId` is empty, the lists are empty
    //!   and `expectedDurationHours` is 0.
    //! - Enrollment `AAA-2013J/11391` of user `11391`: enrolled at noon of
    //!   `date_registration` (day 0 when missing, 45 rows); due at the end of the
    //!   presentation (day `module_presentation_length`); `Withdrawn` → `dropped` at noon of
    //!   `date_unregistration` (undated for the 93 without one); `Fail` → `failed`;
    //!   `Pass`/`Distinction` → `completed` at the end of the presentation. `progress` = 0
    //!   (OULAD has none).
    //! - Assessment `id_assessment`: TMA and CMA → `quiz`, Exam → `exam`; max score 100, pass
    //!   score 40 (the OU pass mark); due at noon of `date` when it has one; `weight` as given
    //!   (0 = formative).
    //! - Attempt `id_assessment/id_student`, attempt 1, submitted at noon of `date_submitted`,
    //!   score out of 100; a submission without a score (173 rows) has no attempt.
    //! - Activity: one `experienced` statement per click row, at noon of `date`, object = the
    //!   VLE site id, `clicks` = `sum_click`.

    use chrono::{DateTime, Utc};
    use learnlens_analytics::input::{
        ActivityEvent, Assessment, AssessmentKind, AssignedBy, Attempt, Course, Enrollment,
        EnrollmentStatus, Organization, User, UserStatus, Verb,
    };

    use super::{
        AssessmentRow, AssessmentType, FinalResult, Presentation, RegistrationRow,
        StudentAssessmentRow, StudentVleRow, day_noon,
    };

    /// The one organisation of the OULAD source.
    pub const ORG_ID: &str = "oulad";
    /// The OU pass mark, out of 100.
    pub const PASS_SCORE: f64 = 40.0;

    /// The one organisation, without strategic goals (OULAD has no skills).
    pub fn organization() -> Organization {
        Organization {
            id: ORG_ID.to_owned(),
            name: "The Open University (OULAD)".to_owned(),
            strategic_goals: Vec::new(),
        }
    }

    /// The user of a student, created at `created_at` (the caller passes the first
    /// registration). OULAD has no names or e-mail addresses: the name says which student it
    /// is and the address is in the reserved `.invalid` domain, so it can reach nobody.
    pub fn user(id_student: i64, created_at: DateTime<Utc>) -> User {
        User {
            id: id_student.to_string(),
            org_id: ORG_ID.to_owned(),
            email: format!("student-{id_student}@oulad.invalid"),
            name: format!("OULAD student {id_student}"),
            roles: vec!["learner".to_owned()],
            department: None,
            job_role_id: None,
            status: UserStatus::Active,
            created_at,
        }
    }

    /// The course of a presentation.
    pub fn course(p: &Presentation) -> Course {
        Course {
            id: p.course_id(),
            title: format!("{} {}", p.module, p.presentation),
            trainer_id: String::new(),
            org_id: Some(ORG_ID.to_owned()),
            skills: Vec::new(),
            modules: Vec::new(),
            expected_duration_hours: 0.0,
            is_mandatory: false,
        }
    }

    /// The enrollment id of a registration.
    pub fn enrollment_id(p: &Presentation, id_student: i64) -> String {
        format!("{}/{id_student}", p.course_id())
    }

    /// The enrollment of a registration, given the student's final result and the
    /// presentation's start and length. `None` only when a date is out of range.
    pub fn enrollment(
        reg: &RegistrationRow,
        result: FinalResult,
        start: DateTime<Utc>,
        length_days: i64,
    ) -> Option<Enrollment> {
        let p = &reg.presentation;
        let end = day_noon(start, length_days)?;
        let enrolled_at = day_noon(start, reg.date_registration.unwrap_or(0))?;
        let (status, completed_at, dropped_at) = match result {
            FinalResult::Pass | FinalResult::Distinction => {
                (EnrollmentStatus::Completed, Some(end), None)
            }
            FinalResult::Fail => (EnrollmentStatus::Failed, None, None),
            FinalResult::Withdrawn => {
                let dropped = match reg.date_unregistration {
                    Some(d) => Some(day_noon(start, d)?),
                    None => None,
                };
                (EnrollmentStatus::Dropped, None, dropped)
            }
        };
        Some(Enrollment {
            id: enrollment_id(p, reg.id_student),
            user_id: reg.id_student.to_string(),
            course_id: p.course_id(),
            enrolled_at,
            status,
            completed_at,
            dropped_at,
            due_at: Some(end),
            progress: 0.0,
            assigned_by: AssignedBy::SelfAssigned,
        })
    }

    /// The assessment of an `assessments` row.
    pub fn assessment(row: &AssessmentRow, start: DateTime<Utc>) -> Assessment {
        Assessment {
            id: row.id_assessment.to_string(),
            course_id: row.presentation.course_id(),
            content_item_id: None,
            kind: match row.assessment_type {
                AssessmentType::Tma | AssessmentType::Cma => AssessmentKind::Quiz,
                AssessmentType::Exam => AssessmentKind::Exam,
            },
            max_score: 100.0,
            pass_score: PASS_SCORE,
            due_at: row.date.and_then(|d| day_noon(start, d)),
            weight: Some(row.weight),
            items: Vec::new(),
        }
    }

    /// The attempt of a `studentAssessment` row (`None` without a score or with a date out of
    /// range).
    pub fn attempt(row: &StudentAssessmentRow, start: DateTime<Utc>) -> Option<Attempt> {
        let score = row.score?;
        Some(Attempt {
            id: format!("{}/{}", row.id_assessment, row.id_student),
            assessment_id: row.id_assessment.to_string(),
            user_id: row.id_student.to_string(),
            attempt_no: 1,
            submitted_at: day_noon(start, row.date_submitted)?,
            score,
            passed: score >= PASS_SCORE,
            responses: Vec::new(),
        })
    }

    /// The `experienced` statement of a click row (`None` with a date out of range).
    pub fn event(
        row: &StudentVleRow,
        course_id: &str,
        start: DateTime<Utc>,
    ) -> Option<ActivityEvent> {
        Some(ActivityEvent {
            user_id: row.id_student.to_string().into(),
            verb: Verb::Experienced,
            object_id: row.id_site.to_string().into(),
            course_id: Some(course_id.into()),
            timestamp: day_noon(start, row.date)?,
            duration_sec: None,
            score_scaled: None,
            completion: None,
            success: None,
            clicks: Some(row.sum_click),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnlens_analytics::input::{AssessmentKind, EnrollmentStatus, Verb};

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    fn reg(pres: &str, id: i64, on: Option<i64>, off: Option<i64>) -> RegistrationRow {
        RegistrationRow {
            presentation: Presentation::new("AAA", pres),
            id_student: id,
            date_registration: on,
            date_unregistration: off,
        }
    }

    #[test]
    fn presentations_start_on_the_first_of_february_or_october() {
        let b = Presentation::new("BBB", "2014B");
        assert_eq!(b.course_id(), "BBB-2014B");
        assert_eq!(b.start().expect("start"), ts("2014-02-01T00:00:00Z"));
        let j = Presentation::new("AAA", "2013J");
        assert_eq!(j.start().expect("start"), ts("2013-10-01T00:00:00Z"));
        assert_eq!(j.year().expect("year"), 2013);
        for bad in ["2013", "2013X", "13J", "", "2013JJ"] {
            assert!(matches!(
                Presentation::new("AAA", bad).start(),
                Err(OuladError::BadPresentation(_))
            ));
        }
        assert_eq!(
            day_noon(ts("2013-10-01T00:00:00Z"), -3),
            Some(ts("2013-09-28T12:00:00Z"))
        );
    }

    #[test]
    fn registrations_map_to_enrollments_by_final_result() {
        let start = ts("2013-10-01T00:00:00Z");
        let passed = map::enrollment(
            &reg("2013J", 7, Some(-20), None),
            FinalResult::Pass,
            start,
            268,
        )
        .expect("maps");
        assert_eq!(passed.id, "AAA-2013J/7");
        assert_eq!(
            (passed.user_id.as_str(), passed.course_id.as_str()),
            ("7", "AAA-2013J")
        );
        assert_eq!(passed.enrolled_at, ts("2013-09-11T12:00:00Z"));
        assert_eq!(passed.status, EnrollmentStatus::Completed);
        assert_eq!(passed.completed_at, Some(ts("2014-06-26T12:00:00Z")));
        assert_eq!(passed.due_at, passed.completed_at);

        let withdrawn = map::enrollment(
            &reg("2013J", 8, None, Some(30)),
            FinalResult::Withdrawn,
            start,
            268,
        )
        .expect("maps");
        // No registration date: day 0.
        assert_eq!(withdrawn.enrolled_at, ts("2013-10-01T12:00:00Z"));
        assert_eq!(withdrawn.status, EnrollmentStatus::Dropped);
        assert_eq!(withdrawn.dropped_at, Some(ts("2013-10-31T12:00:00Z")));

        let failed = map::enrollment(
            &reg("2013J", 9, Some(-5), None),
            FinalResult::Fail,
            start,
            268,
        )
        .expect("maps");
        assert_eq!(failed.status, EnrollmentStatus::Failed);
        assert_eq!((failed.completed_at, failed.dropped_at), (None, None));
        let distinction = map::enrollment(
            &reg("2013J", 9, Some(-5), None),
            FinalResult::Distinction,
            start,
            268,
        )
        .expect("maps");
        assert_eq!(distinction.status, EnrollmentStatus::Completed);
    }

    #[test]
    fn assessments_attempts_and_clicks_are_stamped_at_noon_of_their_day() {
        let start = ts("2014-02-01T00:00:00Z");
        let p = Presentation::new("BBB", "2014B");
        let tma = AssessmentRow {
            presentation: p.clone(),
            id_assessment: 1752,
            assessment_type: AssessmentType::Tma,
            date: Some(19),
            weight: 10.0,
        };
        let a = map::assessment(&tma, start);
        assert_eq!((a.id.as_str(), a.course_id.as_str()), ("1752", "BBB-2014B"));
        assert_eq!(
            (a.kind, a.max_score, a.pass_score),
            (AssessmentKind::Quiz, 100.0, 40.0)
        );
        assert_eq!(a.due_at, Some(ts("2014-02-20T12:00:00Z")));
        assert_eq!(a.weight, Some(10.0));
        let exam = AssessmentRow {
            assessment_type: AssessmentType::Exam,
            date: None,
            ..tma
        };
        let e = map::assessment(&exam, start);
        assert_eq!((e.kind, e.due_at), (AssessmentKind::Exam, None));

        let row = StudentAssessmentRow {
            id_assessment: 1752,
            id_student: 11391,
            date_submitted: 18,
            is_banked: false,
            score: Some(78.0),
        };
        let t = map::attempt(&row, start).expect("scored");
        assert_eq!((t.id.as_str(), t.user_id.as_str()), ("1752/11391", "11391"));
        assert_eq!((t.attempt_no, t.score, t.passed), (1, 78.0, true));
        assert_eq!(t.submitted_at, ts("2014-02-19T12:00:00Z"));
        let unscored = StudentAssessmentRow { score: None, ..row };
        assert_eq!(map::attempt(&unscored, start), None);

        let click = StudentVleRow {
            id_student: 11391,
            id_site: 546669,
            date: -10,
            sum_click: 4,
        };
        let ev = map::event(&click, "BBB-2014B", start).expect("maps");
        assert_eq!(ev.verb, Verb::Experienced);
        assert_eq!((&*ev.object_id, ev.clicks), ("546669", Some(4)));
        assert_eq!(ev.course_id.as_deref(), Some("BBB-2014B"));
        assert_eq!(ev.timestamp, ts("2014-01-22T12:00:00Z"));
        assert_eq!(ev.duration_sec, None);
    }

    #[test]
    fn the_location_comes_from_the_flag_then_the_default() {
        let flag = Path::new("/data/oulad");
        assert_eq!(locate(Some(flag)), PathBuf::from("/data/oulad"));
    }

    #[test]
    fn a_missing_folder_or_table_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = Oulad::open(&missing).expect_err("no folder");
        assert!(err.to_string().contains("not found"), "{err}");
        let err = Oulad::open(dir.path()).expect_err("no tables");
        assert!(
            err.to_string().contains("courses.parquet is missing"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_parquet_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        for t in TABLES {
            if t.ends_with(".parquet") {
                std::fs::write(dir.path().join(t), b"not parquet at all").expect("write");
            } else {
                std::fs::create_dir_all(
                    dir.path()
                        .join(t)
                        .join("code_module=AAA")
                        .join("code_presentation=2013J"),
                )
                .expect("mkdir");
            }
        }
        let oulad = Oulad::open(dir.path()).expect("opens");
        let err = oulad.courses().expect_err("not parquet");
        assert!(matches!(err, OuladError::Parquet { .. }), "{err}");
        assert!(err.to_string().contains("courses.parquet"), "{err}");
        let err = oulad
            .student_vle(&Presentation::new("AAA", "2013J"))
            .err()
            .expect("empty partition");
        assert!(err.to_string().contains("no .parquet file"), "{err}");
        let err = oulad
            .student_vle(&Presentation::new("ZZZ", "2013J"))
            .err()
            .expect("no partition");
        assert!(matches!(err, OuladError::Io { .. }), "{err}");
    }
}
