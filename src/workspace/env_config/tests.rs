use super::*;

fn edit(text: &str, vars: &[(&str, &str)]) -> String {
    let vars: Vec<_> = vars
        .iter()
        .map(|(k, v)| (*k, ConfigVar::plain(*v)))
        .collect();
    edit_vars(text, &vars)
}

fn edit_vars(text: &str, vars: &[(&str, ConfigVar)]) -> String {
    let mut file = EnvFile {
        path: PathBuf::from("config.toml"),
        doc: text.parse().unwrap(),
        original: text.to_owned(),
        bom: false,
        crlf: false,
    };
    let vars = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    file.set_vars(&vars).unwrap();
    file.doc.to_string()
}

fn var(value: &str, force: bool, relative: bool) -> ConfigVar {
    ConfigVar {
        value: VarValue::Plain(value.to_owned()),
        force,
        relative,
        sealed: None,
    }
}

#[test]
fn reads_cargos_forms_with_their_options() {
    let file = EnvFile {
        path: PathBuf::from("config.toml"),
        doc: "[env]\nA = \"1\"\nB = { value = \"2\", force = true }\n[env.C]\nvalue = \"data\"\nrelative = true\n"
            .parse()
            .unwrap(),
        original: String::new(),
        bom: false,
        crlf: false,
    };
    let vars = file.vars().unwrap();
    assert_eq!(vars["A"], var("1", false, false));
    assert_eq!(vars["B"], var("2", true, false));
    assert_eq!(vars["C"], var("data", false, true));
}

#[test]
fn options_change_only_what_they_must() {
    // A plain entry that gains an option becomes an inline table, keeping its comment.
    assert_eq!(
        edit_vars("[env]\nA = \"1\" # one\n", &[("A", var("1", true, false))]),
        "[env]\nA = { value = \"1\", force = true } # one\n"
    );
    // An option turned off leaves the form as it was.
    assert_eq!(
        edit_vars(
            "[env]\nA = { value = \"1\", force = true }\n",
            &[("A", var("1", false, false))]
        ),
        "[env]\nA = { value = \"1\" }\n"
    );
    // An option that is not a bool is removed when it should be off,
    // and an inline table that gains a key keeps even spacing.
    assert_eq!(
        edit_vars(
            "[env]\nA = { value = \"1\", force = \"yes\" }\n",
            &[("A", var("1", false, false))]
        ),
        "[env]\nA = { value = \"1\" }\n"
    );
    assert_eq!(
        edit_vars(
            "[env]\nA = { value = \"1\" }\n",
            &[("A", var("1", true, false))]
        ),
        "[env]\nA = { value = \"1\", force = true }\n"
    );
    assert_eq!(
        edit("env = { A = \"1\" }\n", &[("A", "1"), ("B", "2")]),
        "env = { A = \"1\", B = \"2\" }\n"
    );
    // Dotted entries keep their own key order when a var is added.
    assert_eq!(
        edit_vars(
            "[env]\nA = \"a\"\nB.value = \"b\" # bee\nB.relative = true\n",
            &[
                ("A", var("a", false, false)),
                ("B", var("b", false, true)),
                ("C", var("c", false, false))
            ]
        ),
        "[env]\nA = \"a\"\nB.value = \"b\" # bee\nB.relative = true\nC = \"c\"\n"
    );
    // A new entry with options is written as cargo spells it.
    assert_eq!(
        edit_vars("", &[("D", var("data", false, true))]),
        "[env]\nD = { value = \"data\", relative = true }\n"
    );
}

#[test]
fn keeps_form_comments_and_order() {
    let text = "# build settings\n[build]\njobs = 2\n\n[env]\nB = \"1\" # bee\nA = { value = \"x\", force = true }\n\n[alias]\nx = \"run\"\n";
    assert_eq!(
        edit_vars(
            text,
            &[
                ("A", var("y", true, false)),
                ("B", var("1", false, false)),
                ("C", var("3", false, false))
            ]
        ),
        "# build settings\n[build]\njobs = 2\n\n[env]\nB = \"1\" # bee\nA = { value = \"y\", force = true }\nC = \"3\"\n\n[alias]\nx = \"run\"\n"
    );
}

#[test]
fn sorted_tables_stay_sorted_and_empty_ones_go() {
    assert_eq!(
        edit(
            "[env]\nA = \"1\"\nC = \"3\"\n",
            &[("A", "1"), ("B", "2"), ("C", "3")]
        ),
        "[env]\nA = \"1\"\nB = \"2\"\nC = \"3\"\n"
    );
    assert_eq!(
        edit("[alias]\nb = \"build\"\n\n[env]\nA = \"1\"\n", &[]),
        "[alias]\nb = \"build\"\n"
    );
    assert_eq!(edit("", &[("A", "1")]), "[env]\nA = \"1\"\n");
}

#[test]
fn names_and_values_are_checked() {
    assert!(parse_assignment("MY_VAR=a=b").is_ok_and(|(k, v)| k == "MY_VAR" && v == "a=b"));
    assert!(parse_assignment("_X=").is_ok());
    for bad in ["1X=a", "=a", "A-B=1", "A B=1", "NOEQUALS", "É=1", "A=\0"] {
        assert!(parse_assignment(bad).is_err(), "{bad:?} accepted");
    }
}

mod properties {
    //! The `[env]` editor keeps everything else in the file, and `[env]`
    //! reads back as the vars written, whatever they hold.

    use proptest::prelude::*;

    use super::*;

    /// A config file with other tables, comments, and an `[env]` in one of cargo's forms.
    fn config_text() -> impl Strategy<Value = String> {
        (
            proptest::collection::btree_map("[A-Z][A-Z0-9_]{0,6}", "[ -~]{0,12}", 0..4),
            0..3usize,
            any::<bool>(),
        )
            .prop_map(|(env, form, comments)| {
                let comment = if comments { " # note" } else { "" };
                let mut text = format!("# settings\n[build]\njobs = 2{comment}\n\n");
                let quote = |v: &str| toml_edit::Value::from(v).to_string();
                match form {
                    0 if !env.is_empty() => {
                        text.push_str("[env]\n");
                        for (k, v) in &env {
                            text.push_str(&format!("{k} = {}{comment}\n", quote(v)));
                        }
                    }
                    1 if !env.is_empty() => {
                        text.push_str("[env]\n");
                        for (k, v) in &env {
                            text.push_str(&format!(
                                "{k} = {{ value = {}, force = true }}\n",
                                quote(v)
                            ));
                        }
                    }
                    _ => {
                        let entries: Vec<String> = env
                            .iter()
                            .map(|(k, v)| format!("{k} = {}", quote(v)))
                            .collect();
                        text.push_str(&format!("env = {{ {} }}\n", entries.join(", ")));
                    }
                }
                text.push_str("\n[alias]\nb = \"build\"\n");
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn editing_env_keeps_the_rest_and_reads_back(
            text in config_text(),
            vars in proptest::collection::btree_map("[A-Z_][A-Z0-9_]{0,8}", ("\\PC{0,20}", any::<bool>()), 0..5),
        ) {
            let mut file = EnvFile {
                path: PathBuf::from("config.toml"),
                doc: text.parse().unwrap(),
                original: text.clone(),
                bom: false,
                crlf: false,
            };
            let vars: ConfigVars = vars
                .into_iter()
                .map(|(name, (value, force))| {
                    let mut var = ConfigVar::plain(value.replace('\0', ""));
                    var.force = force;
                    (name, var)
                })
                .collect();
            let before = file.settings_besides_env();
            file.set_vars(&vars).unwrap();
            let written = file.doc.to_string();
            let reread = EnvFile {
                path: PathBuf::from("config.toml"),
                doc: written.parse().unwrap(),
                original: written.clone(),
                bom: false,
                crlf: false,
            };
            prop_assert_eq!(reread.vars().unwrap(), vars);
            prop_assert_eq!(reread.settings_besides_env(), before);
            prop_assert!(written.starts_with("# settings\n[build]\njobs = 2"));
        }

        #[test]
        fn any_text_loads_or_is_refused_never_a_panic(text in "\\PC{0,300}") {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join(".cargo")).unwrap();
            std::fs::write(dir.path().join(".cargo/config.toml"), &text).unwrap();
            if let Ok(file) = EnvFile::load(dir.path()) {
                let _ = file.vars();
                let _ = file.vars_lossy();
            }
        }
    }
}
