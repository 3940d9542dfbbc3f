//! Fuzzing at scale of the `[env]` editor: `.cargo/config.toml` comes from
//! a repository, so any text may be there. Config files in the forms cargo
//! reads (and users write) are mutated as release files are
//! ([`mutate`]); none of the cases may panic. A file either is refused
//! with a message that holds no control character, or it loads, and then
//! after `set_vars(x)` it reads back as `x` (its plain vars), keeps every
//! other setting, keeps its byte order mark and CRLF line endings, and a
//! second `set_vars(x)` changes nothing. `RELEASE_LOG_FUZZ_CASES=<n>` runs
//! `n` cases (see [`crate::ledger::release::fuzz`]).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::ledger::release::fuzz::{
    check_printable, config_var, mutate, run, var_name, with_input,
};

/// Config files as users write them: every form of `[env]` entry cargo reads.
const CONFIGS: &[&str] = &[
    include_str!("../../../tests/fixtures/legacy-ledger/config.toml"),
    "",
    "# build settings\n[build]\njobs = 2\n\n[env]\nB = \"1\" # bee\nA = { value = \"x\", force = true }\n\n[alias]\nx = \"run\"\n",
    "env = { A = \"1\", B = { value = \"2\", relative = true } }\n[alias]\nb = \"build\"\n",
    "[env]\nA = \"a\"\nB.value = \"b\" # bee\nB.relative = true\n",
    "[env]\nA = \"1\"\n[env.C]\nvalue = \"data\"\nrelative = true\nforce = false\n[target.x86_64-unknown-linux-gnu]\nlinker = \"clang\"\nrustflags = [\"-C\", \"target-cpu=native\"]\n",
    "[build]\ntarget-dir = \"out\"\n\n[alias]\nt = [\"test\", \"--all\"]\n",
    "env.A = \"1\"\nenv.B = { value = \"2\" }\nbuild.jobs = 4\n",
    "[env]\nA = '''\nline\n'''\nB = \"\"\"\nx\ny\"\"\"\nC = 'C:\\path'\n[net]\nretry = 3\n",
    "[[patch.unused]]\nname = \"x\"\n\n# vars\n[env] # here\n  A = \"1\"   # one\n  \"QUOTED\" = \"\\u00e9\\t\"\n\n[registries.my]\nindex = \"https://example.com/index\"\n",
    "[env]\n\n[unstable]\nbuild-std = [\"std\"]\n[profile.release]\nlto = true\nopt-level = 3\n",
    "\u{feff}[env]\r\nA = \"1\"\r\nPATH = { value = \"bin\", relative = true, force = true }\r\n[term]\r\ncolor = \"never\"\r\n",
    "[env.A]\nvalue = \"1\"\n[http]\ntimeout = 30\n[env.B]\nvalue = \"2\"\n",
];

/// A config text: one of [`CONFIGS`], or generated `[env]` entries in
/// assorted forms between other tables.
fn config() -> impl Strategy<Value = String> {
    let entry = (any::<prop::sample::Index>(), config_var(), 0..4u8);
    let generated =
        (proptest::collection::vec(entry, 0..5), any::<bool>()).prop_map(|(entries, comments)| {
            let names = ["A", "B", "C", "MYVAR", "PATH", "_X1"];
            let comment = if comments { " # note" } else { "" };
            let mut text = format!("[build]\njobs = 2{comment}\n\n[env]\n");
            let mut tables = String::new();
            for (name, var, form) in entries {
                let name = name.get(&names);
                let value = toml_edit::Value::from(var.plain_value().unwrap_or("s")).to_string();
                match form {
                    0 => text.push_str(&format!("{name} = {value}{comment}\n")),
                    1 => text.push_str(&format!(
                        "{name} = {{ value = {value}, force = {} }}\n",
                        var.force
                    )),
                    2 => text.push_str(&format!(
                        "{name}.value = {value}\n{name}.relative = {}\n",
                        var.relative
                    )),
                    _ => tables.push_str(&format!("[env.{name}]\nvalue = {value}{comment}\n")),
                }
            }
            text.push_str(&tables);
            text.push_str("\n[alias]\nb = \"build\"\n");
            text
        });
    prop_oneof![
        2 => proptest::sample::select(CONFIGS).prop_map(str::to_owned),
        1 => generated,
    ]
}

/// The vars to write: names of the files' own entries and others, any values.
fn vars() -> impl Strategy<Value = ConfigVars> {
    let name = prop_oneof![
        proptest::sample::select(vec!["A", "B", "C", "MYVAR", "PATH", "QUOTED", "_X1"])
            .prop_map(str::to_owned),
        var_name(),
    ];
    proptest::collection::btree_map(name, config_var(), 0..5)
}

fn fail(e: anyhow::Error) -> TestCaseError {
    TestCaseError::fail(format!("{e:#}"))
}

/// Every setting but `[env]`, as values (as debug text, in which `nan`
/// equals itself); `None` when `toml` refuses the text.
fn rest(file: &EnvFile) -> Option<String> {
    file.settings_besides_env()
        .map(|table| format!("{table:?}"))
}

/// The properties of editing `file`, loaded from `text`, to hold `vars`;
/// returns the text written.
fn check_edit(text: &str, mut file: EnvFile, vars: &ConfigVars) -> Result<String, TestCaseError> {
    if let Err(e) = file.vars() {
        check_printable(&format!("{e:#}"))?;
    }
    let _ = file.vars_lossy();
    let _ = file.has_env_table();
    let before = rest(&file);
    file.set_vars(vars).map_err(fail)?;
    let written = file.text();
    let path = file.path.clone();
    let reread = EnvFile::parse(path.clone(), written.clone());
    prop_assert!(
        reread.is_ok(),
        "the edit is refused: {:#}\n{}",
        reread.unwrap_err(),
        written
    );
    let mut reread = reread.unwrap();
    prop_assert_eq!(
        reread.vars().map_err(fail)?,
        plain_vars(vars),
        "written:\n{}",
        written
    );
    prop_assert_eq!(rest(&reread), before, "written:\n{}", written);
    prop_assert_eq!(
        written.starts_with('\u{feff}'),
        text.starts_with('\u{feff}')
    );
    // CRLF endings are kept, unless a multi-line string has a lone LF,
    // which converting would change.
    if text.contains("\r\n") && !text.replace("\r\n", "").contains('\n') {
        prop_assert!(
            !written.replace("\r\n", "").contains('\n'),
            "a line lost its CR:\n{:?}",
            written
        );
    }
    // Writing the same vars again changes nothing.
    reread.set_vars(vars).map_err(fail)?;
    prop_assert_eq!(reread.text(), written.clone());
    Ok(written)
}

/// Mutated config files, edited: `share` percent of the target's cases.
fn mutated_config_files(name: &str, share: u64) {
    let cases = (config(), mutate::mutations(), vars());
    run(name, share, cases, |(text, mutations, vars)| {
        let bytes = mutate::apply(&text, &mutations);
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(());
        };
        match EnvFile::parse(PathBuf::from(".cargo/config.toml"), text.clone()) {
            Ok(file) => check_edit(&text, file, &vars).map(drop),
            Err(e) => check_printable(&format!("{e:#}")),
        }
        .map_err(|e| with_input(e, text.as_bytes()))
    });
}

// Two tests, so that the test threads share the work.
#[test]
fn mutated_config_files_edit_exactly() {
    mutated_config_files("[env] editor (mutated files)", 49);
}

#[test]
fn mutated_config_files_edit_exactly_too() {
    mutated_config_files("[env] editor (mutated files, more)", 49);
}

#[test]
fn config_files_on_disk_load_edit_and_save() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::create_dir_all(root.join(crate::ledger::DIR)).unwrap();
    let scratch = Scratch::of(&root.join(crate::ledger::DIR)).unwrap();
    let cases = (config(), mutate::mutations(), vars(), any::<bool>());
    run(
        "[env] editor (files on disk)",
        2,
        cases,
        |(text, mutations, vars, legacy)| {
            let bytes = mutate::apply(&text, &mutations);
            let path = root
                .join(".cargo")
                .join(if legacy { "config" } else { "config.toml" });
            std::fs::write(&path, &bytes).unwrap();
            let edited = || match EnvFile::load(root) {
                Err(e) => check_printable(&format!("{e:#}")),
                Ok(mut file) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let written = check_edit(&text, file.clone(), &vars)?;
                    file.set_vars(&vars).map_err(fail)?;
                    file.save(&scratch).map_err(fail)?;
                    prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
                    let reloaded = EnvFile::load(root).map_err(fail)?;
                    prop_assert_eq!(reloaded.vars().map_err(fail)?, plain_vars(&vars));
                    Ok(())
                }
            };
            let result = edited().map_err(|e| with_input(e, &bytes));
            std::fs::remove_file(&path).unwrap();
            result
        },
    );
}

/// Found by the fuzz targets: in a file with CRLF line endings, a value
/// with a line break was written as a multi-line string whose line break
/// then became CRLF, and so read back with a CR; converting a file whose
/// line endings were mixed changed the strings of other tables.
#[test]
fn line_breaks_in_values_survive_crlf_files() {
    let vars: ConfigVars = [("A", "two\nlines"), ("B", "cr\r\nlf\n")]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), ConfigVar::plain(value)))
        .collect();
    for text in [
        "[env]\r\nA = \"1\"\r\n[alias]\r\nb = \"build\"\r\n",
        "[env]\r\nA = \"1\"\r\n[alias]\r\nb = \"\"\"x\ny\"\"\"\r\n",
    ] {
        let file = EnvFile::parse(PathBuf::from("config.toml"), text.to_owned()).unwrap();
        let written = check_edit(text, file, &vars).unwrap();
        assert!(written.contains(r#"A = "two\nlines""#), "{written:?}");
    }
}
