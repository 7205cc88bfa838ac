//! The speciality catalogue (R10): every NHS Data Dictionary MAIN SPECIALTY CODE and
//! TREATMENT FUNCTION CODE, one entry per 3-digit code, shipped as data.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where the catalogue comes from.
pub const CATALOGUE_SOURCE: &str = "NHS Data Dictionary: MAIN SPECIALTY CODE (as published by HL7 UK \
    in the CodeSystem UKCore-PracticeSettingCode) and TREATMENT FUNCTION CODE";

/// Which edition of the sources the catalogue was transcribed from.
pub const CATALOGUE_VERSION: &str = "UKCore-PracticeSettingCode 1.0.1 (2023-04-28); \
    TREATMENT FUNCTION CODE list in force from 2023-04-01";

/// One catalogue entry: a 3-digit code and its name, and which of the two NHS Data
/// Dictionary lists it appears in. Where a code is on both lists, the main specialty's
/// name is used; a treatment function's name is given without the word "Service" the
/// list ends each with, except where what is left would not name a service on its own
/// ("Anticoagulant Service").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecialityEntry {
    /// The 3-digit code.
    pub code: u16,
    /// The name, as the Data Dictionary spells it.
    pub name: &'static str,
    /// Whether the code is a MAIN SPECIALTY CODE.
    pub main_specialty: bool,
    /// Whether the code is a TREATMENT FUNCTION CODE.
    pub treatment_function: bool,
    /// The name of its example workspace (R9): the name, unless another code has the
    /// same one (313 and 316 are both "Clinical Immunology"), when the later code follows
    /// in brackets. Unique across the catalogue, as active workspace names are (R6).
    pub example_name: &'static str,
}

const M: (bool, bool) = (true, false);
const T: (bool, bool) = (false, true);
const MT: (bool, bool) = (true, true);

macro_rules! catalogue {
    ($($code:literal $name:literal $lists:ident $(as $example:literal)?,)*) => {
        /// The catalogue, sorted by code. See [`CATALOGUE_SOURCE`] and [`CATALOGUE_VERSION`].
        pub static CATALOGUE: &[SpecialityEntry] = &[
            $(SpecialityEntry {
                code: $code,
                name: $name,
                main_specialty: $lists.0,
                treatment_function: $lists.1,
                example_name: catalogue!(@example $name $($example)?),
            },)*
        ];
    };
    (@example $name:literal) => { $name };
    (@example $name:literal $example:literal) => { $example };
}

catalogue! {
    100 "General Surgery" MT,
    101 "Urology" MT,
    102 "Transplant Surgery" T,
    103 "Breast Surgery" T,
    104 "Colorectal Surgery" T,
    105 "Hepatobiliary and Pancreatic Surgery" T,
    106 "Upper Gastrointestinal Surgery" T,
    107 "Vascular Surgery" MT,
    108 "Spinal Surgery Service" T,
    109 "Bariatric Surgery" T,
    110 "Trauma and Orthopaedics" MT,
    111 "Orthopaedic Service" T,
    113 "Endocrine Surgery" T,
    115 "Trauma Surgery" T,
    120 "Ear Nose and Throat" MT,
    130 "Ophthalmology" MT,
    140 "Oral Surgery" MT,
    141 "Restorative Dentistry" MT,
    142 "Paediatric Dentistry" MT,
    143 "Orthodontics" MT,
    144 "Maxillofacial Surgery" T,
    145 "Oral and Maxillofacial Surgery" MT,
    146 "Endodontics" M,
    147 "Periodontics" M,
    148 "Prosthodontics" M,
    149 "Surgical Dentistry" M,
    150 "Neurosurgery" MT,
    160 "Plastic Surgery" MT,
    161 "Burns Care" T,
    170 "Cardiothoracic Surgery" MT,
    171 "Paediatric Surgery" MT,
    172 "Cardiac Surgery" T,
    173 "Thoracic Surgery" T,
    174 "Cardiothoracic Transplantation" T,
    180 "Emergency Medicine" MT,
    190 "Anaesthetics" MT,
    191 "Pain Management" T,
    192 "Intensive Care Medicine" MT,
    200 "Aviation and Space Medicine" MT,
    211 "Paediatric Urology" T,
    212 "Paediatric Transplantation Surgery" T,
    213 "Paediatric Gastrointestinal Surgery" T,
    214 "Paediatric Trauma and Orthopaedics" T,
    215 "Paediatric Ear Nose and Throat" T,
    216 "Paediatric Ophthalmology" T,
    217 "Paediatric Oral and Maxillofacial Surgery" T,
    218 "Paediatric Neurosurgery" T,
    219 "Paediatric Plastic Surgery" T,
    220 "Paediatric Burns Care" T,
    221 "Paediatric Cardiac Surgery" T,
    222 "Paediatric Thoracic Surgery" T,
    223 "Paediatric Epilepsy" T,
    230 "Paediatric Clinical Pharmacology" T,
    240 "Paediatric Palliative Medicine" T,
    241 "Paediatric Pain Management" T,
    242 "Paediatric Intensive Care" T,
    250 "Paediatric Hepatology" T,
    251 "Paediatric Gastroenterology" T,
    252 "Paediatric Endocrinology" T,
    253 "Paediatric Clinical Haematology" T,
    254 "Paediatric Audio Vestibular Medicine" T,
    255 "Paediatric Clinical Immunology and Allergy" T,
    256 "Paediatric Infectious Diseases" T,
    257 "Paediatric Dermatology" T,
    258 "Paediatric Respiratory Medicine" T,
    259 "Paediatric Nephrology" T,
    260 "Paediatric Medical Oncology" T,
    261 "Paediatric Inherited Metabolic Medicine" T,
    262 "Paediatric Rheumatology" T,
    263 "Paediatric Diabetes" T,
    264 "Paediatric Cystic Fibrosis" T,
    270 "Paediatric Emergency Medicine" T,
    280 "Paediatric Interventional Radiology" T,
    290 "Community Paediatrics" T,
    291 "Paediatric Neurodisability" T,
    300 "General Internal Medicine" MT,
    301 "Gastroenterology" MT,
    302 "Endocrinology and Diabetes" MT,
    303 "Clinical Haematology" MT,
    304 "Clinical Physiology" MT,
    305 "Clinical Pharmacology" MT,
    306 "Hepatology" T,
    307 "Diabetes" T,
    308 "Blood and Marrow Transplantation" T,
    309 "Haemophilia" T,
    310 "Audio Vestibular Medicine" MT,
    311 "Clinical Genetics" MT,
    313 "Clinical Immunology" MT,
    314 "Rehabilitation Medicine" MT,
    315 "Palliative Medicine" MT,
    316 "Clinical Immunology" T as "Clinical Immunology (316)",
    317 "Allergy" MT,
    318 "Intermediate Care" T,
    319 "Respite Care" T,
    320 "Cardiology" MT,
    321 "Paediatric Cardiology" MT,
    322 "Clinical Microbiology" T,
    323 "Spinal Injuries" T,
    324 "Anticoagulant Service" T,
    325 "Sport and Exercise Medicine" MT,
    326 "Acute Internal Medicine" MT,
    327 "Cardiac Rehabilitation" T,
    328 "Stroke Medicine" T,
    329 "Transient Ischaemic Attack" T,
    330 "Dermatology" MT,
    331 "Congenital Heart Disease" T,
    333 "Rare Disease" T,
    335 "Inherited Metabolic Medicine" T,
    340 "Respiratory Medicine" MT,
    341 "Respiratory Physiology" T,
    342 "Pulmonary Rehabilitation" T,
    343 "Adult Cystic Fibrosis" T,
    344 "Complex Specialised Rehabilitation" T,
    345 "Specialist Rehabilitation" T,
    346 "Local Specialist Rehabilitation" T,
    347 "Sleep Medicine" T,
    348 "Post-COVID-19 Syndrome Service" T,
    350 "Infectious Diseases" MT,
    352 "Tropical Medicine" MT,
    360 "Genitourinary Medicine" MT,
    361 "Renal Medicine" MT,
    370 "Medical Oncology" MT,
    371 "Nuclear Medicine" MT,
    400 "Neurology" MT,
    401 "Clinical Neurophysiology" MT,
    410 "Rheumatology" MT,
    420 "Paediatrics" MT,
    421 "Paediatric Neurology" MT,
    422 "Neonatal Critical Care" T,
    424 "Well Baby" T,
    430 "Geriatric Medicine" MT,
    431 "Orthogeriatric Medicine" T,
    450 "Dental Medicine" MT,
    451 "Special Care Dentistry" MT,
    460 "Medical Ophthalmology" MT,
    461 "Ophthalmic and Vision Science" T,
    500 "Obstetrics and Gynaecology" M,
    501 "Obstetrics" MT,
    502 "Gynaecology" MT,
    503 "Gynaecological Oncology" T,
    504 "Community Sexual and Reproductive Health" MT,
    505 "Fetal Medicine" T,
    560 "Midwifery" MT,
    600 "General Medical Practice" M,
    601 "General Dental Practice" M,
    650 "Physiotherapy" T,
    651 "Occupational Therapy" T,
    652 "Speech and Language Therapy" T,
    653 "Podiatry" T,
    654 "Dietetics" T,
    655 "Orthoptics" T,
    656 "Clinical Psychology" T,
    657 "Prosthetics" T,
    658 "Orthotics" T,
    659 "Dramatherapy" T,
    660 "Art Therapy" T,
    661 "Music Therapy" T,
    662 "Optometry" T,
    663 "Podiatric Surgery" T,
    670 "Urological Physiology" T,
    673 "Vascular Physiology" T,
    675 "Cardiac Physiology" T,
    677 "Gastrointestinal Physiology" T,
    700 "Learning Disability" MT,
    710 "Adult Mental Illness" MT,
    711 "Child and Adolescent Psychiatry" MT,
    712 "Forensic Psychiatry" MT,
    713 "Medical Psychotherapy" MT,
    715 "Old Age Psychiatry" MT,
    720 "Eating Disorders" T,
    721 "Addiction Service" T,
    722 "Liaison Psychiatry" T,
    723 "Psychiatric Intensive Care" T,
    724 "Perinatal Mental Health" T,
    725 "Mental Health Recovery and Rehabilitation" T,
    726 "Mental Health Dual Diagnosis" T,
    727 "Dementia Assessment" T,
    730 "Neuropsychiatry" T,
    800 "Clinical Oncology" MT,
    810 "Radiology" M,
    811 "Interventional Radiology" T,
    812 "Diagnostic Imaging" T,
    820 "General Pathology" M,
    821 "Blood Transfusion" M,
    822 "Chemical Pathology" MT,
    823 "Haematology" M,
    824 "Histopathology" M,
    830 "Immunopathology" M,
    831 "Medical Microbiology and Virology" M,
    833 "Medical Microbiology" M,
    834 "Medical Virology" MT,
    840 "Audiology" T,
    900 "Community Medicine" M,
    901 "Occupational Medicine" M,
    902 "Community Health Services Dental" M,
    903 "Public Health Medicine" M,
    904 "Public Health Dental" M,
    920 "Diabetic Education Service" T,
    950 "Nursing" MT,
    960 "Allied Health Professional" MT,
}

/// A speciality from the catalogue (R10). It can only be made from a catalogue entry,
/// so every `Speciality` is a real one. Serialised as its 3-digit code.
///
/// ```
/// use carespace::Speciality;
///
/// let obstetrics = Speciality::from_code(501)?;
/// assert_eq!(obstetrics.name(), "Obstetrics");
/// assert_eq!(Speciality::from_name("breast surgery").map(|s| s.code()), Some(103));
/// assert!(Speciality::from_code(999).is_err());
/// # Ok::<(), carespace::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Speciality(&'static SpecialityEntry);

/// An example workspace's key in discovery's order, and its speciality.
type ExampleKey = ((String, u8, String), Speciality);

impl Speciality {
    /// Looks a speciality up by its 3-digit code.
    pub fn from_code(code: u16) -> Result<Self, crate::Error> {
        CATALOGUE
            .binary_search_by_key(&code, |entry| entry.code)
            .ok()
            .and_then(|index| CATALOGUE.get(index))
            .map(Self)
            .ok_or(crate::Error::UnknownSpeciality { code })
    }

    /// Looks a speciality up by its name, ignoring case and surrounding whitespace; where
    /// two codes share the name, the first (313 for "Clinical Immunology").
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.trim();
        CATALOGUE.iter().find(|entry| entry.name.eq_ignore_ascii_case(wanted)).map(Self)
    }

    /// Every speciality in the catalogue, by code.
    pub fn all() -> impl ExactSizeIterator<Item = Speciality> {
        CATALOGUE.iter().map(Self)
    }

    /// Every speciality with its example workspace's key in discovery's order (R9,
    /// R11): the example name's case-insensitive key, then the code as text — sorted
    /// once, as every page of discovery reads them.
    pub(crate) fn examples_by_key() -> &'static [ExampleKey] {
        static SORTED: std::sync::LazyLock<Vec<ExampleKey>> = std::sync::LazyLock::new(|| {
            let mut all: Vec<_> = Speciality::all()
                .map(|s| ((crate::text::key_of(s.example_name()), 1, s.code().to_string()), s))
                .collect();
            all.sort_by(|a, b| a.0.cmp(&b.0));
            all
        });
        &SORTED
    }

    /// The 3-digit code.
    pub fn code(self) -> u16 {
        self.0.code
    }

    /// The name, as the Data Dictionary spells it. Two codes may share one: see
    /// [`Speciality::example_name`].
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The name of its example workspace (R9), unique across the catalogue:
    /// [`SpecialityEntry::example_name`].
    ///
    /// ```
    /// use carespace::Speciality;
    ///
    /// assert_eq!(Speciality::from_code(313)?.example_name(), "Clinical Immunology");
    /// assert_eq!(Speciality::from_code(316)?.name(), "Clinical Immunology");
    /// assert_eq!(Speciality::from_code(316)?.example_name(), "Clinical Immunology (316)");
    /// # Ok::<(), carespace::Error>(())
    /// ```
    pub fn example_name(self) -> &'static str {
        self.0.example_name
    }

    /// The full catalogue entry.
    pub fn entry(self) -> &'static SpecialityEntry {
        self.0
    }
}

impl PartialOrd for Speciality {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Speciality {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code().cmp(&other.code())
    }
}

impl fmt::Debug for Speciality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Speciality({} {})", self.0.code, self.0.name)
    }
}

impl fmt::Display for Speciality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl TryFrom<u16> for Speciality {
    type Error = crate::Error;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        Self::from_code(code)
    }
}

impl From<Speciality> for u16 {
    fn from(speciality: Speciality) -> Self {
        speciality.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkspaceName;
    use std::collections::HashSet;

    #[test]
    fn r10_catalogue_is_complete_sorted_and_unique() {
        assert!(CATALOGUE.windows(2).all(|w| w[0].code < w[1].code), "sorted by code, no duplicate codes");
        let main = CATALOGUE.iter().filter(|e| e.main_specialty).count();
        let tfc = CATALOGUE.iter().filter(|e| e.treatment_function).count();
        assert_eq!(main, 87, "UKCore-PracticeSettingCode 1.0.1 has 87 main specialty codes");
        assert!(tfc >= 150, "the treatment function list has {tfc} codes");
        assert!(CATALOGUE.len() >= 200);
        assert!(CATALOGUE.iter().all(|e| (100..=999).contains(&e.code)));
    }

    #[test]
    fn r6_r9_example_names_are_unique_and_valid_workspace_names() {
        // R9: an example workspace is named after its speciality; R6: active names are
        // unique in an organisation, compared as workspace names are.
        let keys: HashSet<String> =
            CATALOGUE.iter().map(|e| WorkspaceName::parse(e.example_name).unwrap().key()).collect();
        assert_eq!(keys.len(), CATALOGUE.len(), "two example workspaces would share a name");
        for entry in CATALOGUE {
            assert_eq!(WorkspaceName::parse(entry.example_name).unwrap().as_str(), entry.example_name);
            assert!(entry.example_name.starts_with(entry.name), "{}", entry.code);
        }
        // Only where the Data Dictionary gives two codes one name does an example differ.
        let differing: Vec<u16> = CATALOGUE.iter().filter(|e| e.example_name != e.name).map(|e| e.code).collect();
        assert_eq!(differing, vec![316]);
    }

    /// R10: a dozen names from each list, as the cited editions spell them (checked
    /// against the main specialty and treatment function lists; see [`CATALOGUE_VERSION`]).
    #[test]
    fn r10_names_pinned_from_each_list() {
        let main = [
            (100, "General Surgery"),
            (110, "Trauma and Orthopaedics"),
            (143, "Orthodontics"),
            (190, "Anaesthetics"),
            (302, "Endocrinology and Diabetes"),
            (313, "Clinical Immunology"),
            (317, "Allergy"),
            (430, "Geriatric Medicine"),
            (500, "Obstetrics and Gynaecology"),
            (710, "Adult Mental Illness"),
            (831, "Medical Microbiology and Virology"),
            (960, "Allied Health Professional"),
        ];
        let treatment = [
            (102, "Transplant Surgery"),
            (161, "Burns Care"),
            (255, "Paediatric Clinical Immunology and Allergy"),
            (316, "Clinical Immunology"),
            (324, "Anticoagulant Service"),
            (348, "Post-COVID-19 Syndrome Service"),
            (422, "Neonatal Critical Care"),
            (505, "Fetal Medicine"),
            (663, "Podiatric Surgery"),
            (721, "Addiction Service"),
            (727, "Dementia Assessment"),
            (920, "Diabetic Education Service"),
        ];
        for (code, name) in main {
            let entry = Speciality::from_code(code).unwrap().entry();
            assert!(entry.main_specialty, "{code}");
            assert_eq!(entry.name, name, "{code}");
        }
        for (code, name) in treatment {
            let entry = Speciality::from_code(code).unwrap().entry();
            assert!(entry.treatment_function && !entry.main_specialty, "{code}");
            assert_eq!(entry.name, name, "{code}");
        }
    }

    #[test]
    fn r10_lookup_by_code_and_name() {
        assert_eq!(Speciality::from_code(501).unwrap().name(), "Obstetrics");
        assert_eq!(Speciality::from_code(103).unwrap().name(), "Breast Surgery");
        assert_eq!(Speciality::from_code(104).unwrap().name(), "Colorectal Surgery");
        assert!(matches!(Speciality::from_code(999), Err(crate::Error::UnknownSpeciality { code: 999 })));
        assert_eq!(Speciality::from_name(" OBSTETRICS ").unwrap().code(), 501);
        assert_eq!(Speciality::from_name("Quantum Surgery"), None);
        assert_eq!(Speciality::all().len(), CATALOGUE.len());
    }

    #[test]
    fn r10_serialises_as_its_code() {
        let s = Speciality::from_code(501).unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "501");
        assert_eq!(serde_json::from_str::<Speciality>("501").unwrap(), s);
        assert!(serde_json::from_str::<Speciality>("999").is_err());
    }
}
