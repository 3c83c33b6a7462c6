//! The fixed vocabulary of the synthetic data: skills, departments with their job roles and
//! domain skills, organisations, course title patterns and people's names. Indices into these
//! tables are stable, so ids built from them are too.

/// A skill of the taxonomy: (id, name).
pub(super) const SKILLS: [(&str, &str); 40] = [
    ("sk-python", "Python"),
    ("sk-sql", "SQL"),
    ("sk-rust", "Rust"),
    ("sk-cloud", "Cloud architecture"),
    ("sk-security", "Information security"),
    ("sk-testing", "Software testing"),
    ("sk-agile", "Agile delivery"),
    ("sk-negotiation", "Negotiation"),
    ("sk-crm", "CRM tools"),
    ("sk-product", "Product knowledge"),
    ("sk-presenting", "Presenting"),
    ("sk-project-mgmt", "Project management"),
    ("sk-logistics", "Logistics planning"),
    ("sk-lean", "Lean processes"),
    ("sk-spreadsheets", "Spreadsheets"),
    ("sk-safety", "Health and safety"),
    ("sk-accounting", "Accounting"),
    ("sk-fin-analysis", "Financial analysis"),
    ("sk-compliance", "Regulatory compliance"),
    ("sk-risk", "Risk management"),
    ("sk-coaching", "Coaching"),
    ("sk-employment-law", "Employment law"),
    ("sk-recruiting", "Recruiting"),
    ("sk-privacy", "Data privacy"),
    ("sk-contracts", "Contract law"),
    ("sk-writing", "Business writing"),
    ("sk-copywriting", "Copywriting"),
    ("sk-seo", "Search engine optimisation"),
    ("sk-design", "Visual design"),
    ("sk-data-analysis", "Data analysis"),
    ("sk-statistics", "Statistics"),
    ("sk-ml", "Machine learning"),
    ("sk-conflict", "Conflict resolution"),
    ("sk-customer-care", "Customer care"),
    ("sk-communication", "Communication"),
    ("sk-leadership", "Leadership"),
    ("sk-data-literacy", "Data literacy"),
    ("sk-time-mgmt", "Time management"),
    ("sk-ethics", "Business ethics"),
    ("sk-accessibility", "Accessibility"),
];

/// Skills every department may need (indices into [`SKILLS`]).
pub(super) const SHARED_SKILLS: [usize; 6] = [34, 35, 36, 37, 38, 23];

/// A department: name, job role names, and the skills of its domain (indices into [`SKILLS`]).
pub(super) struct DepartmentDef {
    pub(super) name: &'static str,
    pub(super) roles: &'static [&'static str],
    pub(super) skills: &'static [usize],
}

/// The departments, most common first. The last one is deliberately tiny in every
/// organisation, so k-anonymity suppression always has something to suppress.
pub(super) const DEPARTMENTS: [DepartmentDef; 10] = [
    DepartmentDef {
        name: "Engineering",
        roles: &[
            "Software Engineer",
            "Site Reliability Engineer",
            "QA Engineer",
        ],
        skills: &[0, 1, 2, 3, 4, 5, 6],
    },
    DepartmentDef {
        name: "Sales",
        roles: &["Account Executive", "Sales Development Rep"],
        skills: &[7, 8, 9, 10, 34],
    },
    DepartmentDef {
        name: "Operations",
        roles: &[
            "Operations Analyst",
            "Logistics Coordinator",
            "Site Supervisor",
        ],
        skills: &[11, 12, 13, 14, 15],
    },
    DepartmentDef {
        name: "Customer Support",
        roles: &["Support Agent", "Support Team Lead"],
        skills: &[32, 33, 9, 8, 34],
    },
    DepartmentDef {
        name: "Finance",
        roles: &["Financial Analyst", "Accountant"],
        skills: &[16, 17, 18, 19, 14],
    },
    DepartmentDef {
        name: "Marketing",
        roles: &["Marketing Specialist", "Content Designer"],
        skills: &[26, 27, 28, 29, 10],
    },
    DepartmentDef {
        name: "Research",
        roles: &["Data Scientist", "Research Analyst"],
        skills: &[29, 30, 31, 0, 25],
    },
    DepartmentDef {
        name: "Human Resources",
        roles: &["HR Partner", "Recruiter"],
        skills: &[20, 21, 22, 23, 34],
    },
    DepartmentDef {
        name: "Legal",
        roles: &["Legal Counsel"],
        skills: &[24, 18, 23, 7, 25],
    },
    DepartmentDef {
        name: "Executive Office",
        roles: &["Chief of Staff"],
        skills: &[35, 11, 17, 10, 38],
    },
];

/// Index of the tiny department in [`DEPARTMENTS`].
pub(super) const TINY_DEPARTMENT: usize = 9;

/// The department of trainers (and its single job role), appended to every organisation.
pub(super) const TRAINING_DEPARTMENT: &str = "Learning and Development";
pub(super) const TRAINER_ROLE: &str = "Trainer";
/// Skills the trainer role requires (indices into [`SKILLS`]).
pub(super) const TRAINER_SKILLS: [usize; 3] = [20, 10, 34];

/// Organisations after the demo organisation: (name, e-mail domain).
pub(super) const ORGS: [(&str, &str); 7] = [
    ("Northwind Logistics", "northwind.test"),
    ("Contoso Health", "contoso.test"),
    ("Globex Finance", "globex.test"),
    ("Initech Software", "initech.test"),
    ("Umbrella Research", "umbrella.test"),
    ("Hooli Media", "hooli.test"),
    ("Stark Manufacturing", "stark.test"),
];

/// Course title patterns; `{}` is the main skill's name.
pub(super) const COURSE_TITLES: [&str; 8] = [
    "Introduction to {}",
    "{} essentials",
    "{} in practice",
    "Advanced {}",
    "{} for teams",
    "{} masterclass",
    "Applied {}",
    "{} refresher",
];

/// Titles of the mandatory courses; the skill is the first of the pair (index into [`SKILLS`]).
pub(super) const MANDATORY_COURSES: [(&str, usize); 4] = [
    ("Data privacy essentials", 23),
    ("Health and safety at work", 15),
    ("Code of conduct", 38),
    ("Information security awareness", 4),
];

pub(super) const FIRST_NAMES: [&str; 40] = [
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kai", "Lena",
    "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Viktor", "Wen",
    "Ximena", "Yusuf", "Zoe", "Aron", "Bea", "Cem", "Dalia", "Emil", "Freya", "Goran", "Ines",
    "Jonas", "Kira", "Luca", "Maya", "Noor", "Oskar",
];

pub(super) const LAST_NAMES: [&str; 40] = [
    "Adams",
    "Bauer",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Ahmed",
    "Brown",
    "Chen",
    "Dimitrov",
    "Evans",
    "Fernandes",
    "Gupta",
    "Horvat",
    "Iqbal",
    "Jovanovic",
    "Kim",
    "Lopez",
    "Muller",
    "Novak",
];
