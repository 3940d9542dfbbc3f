//! The `addons` arguments: `add`, `remove`, `upgrade`, `downgrade`, and the change each makes.

use std::path::PathBuf;

use cargo_release_log::{AddonChange, Error, Section};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AddonsArgs {
    /// Print JSON (the current release's add-ons and any drift)
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<AddonsAction>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The crate, `NAME` or `NAME@VERSION`
    #[arg(value_name = "SPEC")]
    spec: String,
    /// The member to add it to (default: the root package)
    #[arg(short, long, value_name = "PKG")]
    package: Option<String>,
    /// Features to turn on, separated by commas
    #[arg(short = 'F', long, value_name = "FEATURES", value_delimiter = ',')]
    features: Vec<String>,
    /// Add it as a dev-dependency (not compiled into the slug)
    #[arg(long, conflicts_with = "build")]
    dev: bool,
    /// Add it as a build-dependency
    #[arg(long)]
    build: bool,
    /// Take it from a git repository
    #[arg(long, value_name = "URL", conflicts_with = "path")]
    git: Option<String>,
    /// The git branch to use
    #[arg(long, value_name = "BRANCH", requires = "git")]
    branch: Option<String>,
    /// The git tag to use
    #[arg(long, value_name = "TAG", requires = "git")]
    tag: Option<String>,
    /// The git commit to use
    #[arg(long, value_name = "REV", requires = "git")]
    rev: Option<String>,
    /// Take it from a local folder
    #[arg(long, value_name = "PATH")]
    path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AddonsAction {
    /// Add a dependency with `cargo add`, as a new release
    #[command(visible_alias = "create")]
    Add(Box<AddArgs>),
    /// Remove a dependency with `cargo remove`, as a new release
    #[command(visible_alias = "destroy")]
    Remove {
        /// The dependency's name
        name: String,
        /// The member to remove it from (default: the root package)
        #[arg(short, long, value_name = "PKG")]
        package: Option<String>,
    },
    /// Move an add-on to a newer version with `cargo update`, as a new release
    Upgrade {
        /// `NAME` (the newest version its requirement allows) or `NAME@VERSION`
        #[arg(value_name = "NAME[@VERSION]")]
        spec: String,
        /// When VERSION is outside the requirement in Cargo.toml, change the
        /// requirement to it (`cargo add NAME@VERSION`) in the same release
        #[arg(long)]
        allow_requirement_change: bool,
    },
    /// Move an add-on to an older version with `cargo update --precise`, as a new release
    Downgrade {
        /// `NAME@VERSION`
        #[arg(value_name = "NAME@VERSION")]
        spec: String,
        /// When VERSION is outside the requirement in Cargo.toml, change the
        /// requirement to it (`cargo add NAME@VERSION`) in the same release
        #[arg(long)]
        allow_requirement_change: bool,
    },
}

impl AddonsAction {
    /// The library's description of the change.
    pub fn change(self) -> Result<AddonChange, Error> {
        Ok(match self {
            AddonsAction::Add(add) => {
                let AddArgs {
                    spec,
                    package,
                    features,
                    dev,
                    build,
                    git,
                    branch,
                    tag,
                    rev,
                    path,
                } = *add;
                let mut source: Vec<String> = Vec::new();
                for (flag, value) in [
                    ("--git", git),
                    ("--branch", branch),
                    ("--tag", tag),
                    ("--rev", rev),
                ] {
                    if let Some(value) = value {
                        source.extend([flag.to_owned(), value]);
                    }
                }
                if let Some(path) = path {
                    source.extend(["--path".to_owned(), path.display().to_string()]);
                }
                let section = if dev {
                    Section::Dev
                } else if build {
                    Section::Build
                } else {
                    Section::Normal
                };
                AddonChange::add(spec, package, features, section, source)
            }
            AddonsAction::Remove { name, package } => AddonChange::remove(name, package),
            AddonsAction::Upgrade {
                spec,
                allow_requirement_change,
            } => match spec.split_once('@') {
                Some((name, version)) => AddonChange::upgrade(name, Some(version.to_owned())),
                None => AddonChange::upgrade(&spec, None),
            }
            .allow_requirement_change(allow_requirement_change),
            AddonsAction::Downgrade {
                spec,
                allow_requirement_change,
            } => match spec.split_once('@') {
                Some((name, version)) => AddonChange::downgrade(name, version)
                    .allow_requirement_change(allow_requirement_change),
                None => {
                    return Err(Error::InvalidInput(format!(
                        "`{}` names no version: expected NAME@VERSION",
                        cargo_release_log::text::printable(&spec)
                    )));
                }
            },
        })
    }
}
