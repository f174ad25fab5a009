//! RBAC benchmark: Roster's `OrgIndex` against casbin and cedar-policy on the
//! same workload (pure RBAC with domains and a resource hierarchy).
//!
//! Full size, quick criterion settings (from the workspace root):
//!
//! ```text
//! cargo bench -p roster-authz --bench rbac -- \
//!     --warm-up-time 1 --measurement-time 5
//! ```
//!
//! A quick run with a smaller workload:
//!
//! ```text
//! ROSTER_BENCH_ORGS=50 ROSTER_BENCH_USERS=5000 ROSTER_BENCH_QUERIES=20000 \
//!     cargo bench -p roster-authz --bench rbac -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Sizes (environment variables, defaults in brackets):
//! `ROSTER_BENCH_ORGS` [1000], `ROSTER_BENCH_USERS` [100000],
//! `ROSTER_BENCH_QUERIES` timed, 50/50 balanced queries [200000],
//! `ROSTER_BENCH_AGREE` random queries checked for agreement [10000],
//! `ROSTER_BENCH_SEED` [42].
//!
//! # Workload
//!
//! Every org has the same small three-level tree (2 projects x 2
//! environments x 2 clusters = 14 resources). Every user is a member of 1-3
//! random orgs with a built-in role in each; 20% of users also hold one extra
//! role (the custom role `devops` = `clusters:*` + `environments:*`, or a
//! built-in role) on one random resource of one of their orgs, which covers
//! that resource and its descendants. There are no resource-group gates and
//! no review policies: peers have no equivalent.
//!
//! Built-in roles grant platform actions by class (SPEC §1): owner/admin
//! read, write, secret, admin; contributor read, write, secret; viewer read,
//! secret; viewer-no-secrets read. The classes of actions come from the
//! default catalog. The peers are encoded from that table (see
//! [`builtin_classes`]), not from Roster's code, so that the agreement check
//! tests the encodings against an independent statement of the rules.
//!
//! # What is timed
//!
//! Each engine gets every query in its own native, pre-built form and the
//! per-check time covers everything the engine does from there:
//!
//! - Roster: (org id, user id, action name, resource key): finding the org's
//!   index in a hash map and resolving the two names are included.
//! - casbin: the four request strings, passed to `Enforcer::enforce`.
//! - cedar: a pre-built `Request` (its entity UIDs are parsed outside the
//!   timed loop), passed to `Authorizer::is_authorized`.
//!
//! Before anything is timed the three engines must agree on
//! `ROSTER_BENCH_AGREE` random queries and on every timed query; the bench
//! panics at the first disagreement.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use roster_authz::{MemberFact, OrgIndex, OrgState, ResourceFact, RoleFact, RuleFact, Subject};
use roster_domain::{Catalog, RolePermissions};
use rustc_hash::FxHashMap;

// ---------------------------------------------------------------------------
// Memory accounting
// ---------------------------------------------------------------------------

/// A `System` wrapper that tracks the bytes currently allocated, but only
/// while [`COUNTING`] is on. A load is measured as the sum of all
/// allocations minus all frees made while it runs, which is exactly "live
/// bytes after the load minus live bytes before it". Outside the measured
/// windows the allocator costs one relaxed load per call, so the timed
/// phases (where casbin and cedar allocate and Roster does not) are not
/// skewed by atomic read-modify-writes.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

#[inline]
fn account(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the bookkeeping never touches the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// What loading an engine cost.
#[derive(Clone, Copy)]
struct LoadCost {
    time: Duration,
    bytes: isize,
}

/// Runs `load`, measuring its wall time and the bytes it leaves allocated.
/// Single-threaded: nothing else allocates while it runs.
fn measure_load<T>(load: impl FnOnce() -> T) -> (T, LoadCost) {
    LIVE.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let start = Instant::now();
    let engine = load();
    let time = start.elapsed();
    COUNTING.store(false, Ordering::SeqCst);
    let bytes = LIVE.load(Ordering::SeqCst);
    (engine, LoadCost { time, bytes })
}

// ---------------------------------------------------------------------------
// Workload
// ---------------------------------------------------------------------------

const PROJECTS: usize = 2;
const ENVS_PER_PROJECT: usize = 2;
const CLUSTERS_PER_ENV: usize = 2;
/// Share of users holding one extra role on a resource.
const EXTRA_ROLE_SHARE: f64 = 0.2;
/// Checks carry a time; nothing here expires, so any value will do.
const NOW_MS: i64 = 1_700_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Owner,
    Admin,
    Contributor,
    Viewer,
    ViewerNoSecrets,
    /// A custom role holding `clusters:*` and `environments:*`.
    Devops,
}

impl Role {
    const BUILTIN: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Contributor,
        Role::Viewer,
        Role::ViewerNoSecrets,
    ];

    /// The role's name in Roster and casbin.
    fn name(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Contributor => "contributor",
            Role::Viewer => "viewer",
            Role::ViewerNoSecrets => "viewer-no-secrets",
            Role::Devops => "devops",
        }
    }

    /// The role as a cedar identifier (no '-').
    fn ident(self) -> &'static str {
        match self {
            Role::ViewerNoSecrets => "viewer_no_secrets",
            r => r.name(),
        }
    }
}

/// The platform action classes a built-in role grants on every type, as
/// SPEC §1 states them. Peers are encoded from this table.
fn builtin_classes(role: Role) -> &'static [&'static str] {
    match role {
        Role::Owner | Role::Admin => &["read", "write", "secret", "admin"],
        Role::Contributor => &["read", "write", "secret"],
        Role::Viewer => &["read", "secret"],
        Role::ViewerNoSecrets => &["read"],
        Role::Devops => &[],
    }
}

/// The resource types whose every action the custom role `devops` holds.
const DEVOPS_TYPES: [&str; 2] = ["clusters", "environments"];

/// One resource of the per-org tree.
struct Node {
    /// Roster's type name, e.g. `clusters`.
    ty: &'static str,
    /// The name within the org, e.g. `c0.1.1`.
    name: String,
    parent: Option<usize>,
    /// `type/name`, Roster's resource key.
    key: String,
}

/// The per-org resource tree, parents before children.
fn resource_tree() -> Vec<Node> {
    let mut tree = Vec::new();
    let mut push = |ty: &'static str, name: String, parent: Option<usize>| {
        let key = format!("{ty}/{name}");
        tree.push(Node {
            ty,
            name,
            parent,
            key,
        });
        tree.len() - 1
    };
    for k in 0..PROJECTS {
        let p = push("projects", format!("p{k}"), None);
        for j in 0..ENVS_PER_PROJECT {
            let e = push("environments", format!("e{k}.{j}"), Some(p));
            for i in 0..CLUSTERS_PER_ENV {
                push("clusters", format!("c{k}.{j}.{i}"), Some(e));
            }
        }
    }
    tree
}

#[derive(Debug, Clone, Copy)]
struct Grant {
    org: usize,
    resource: usize,
    role: Role,
}

struct User {
    id: i64,
    /// (org, built-in role), orgs distinct.
    memberships: Vec<(usize, Role)>,
    grant: Option<Grant>,
}

struct ActionSpec {
    /// `type:action`.
    name: String,
    ty: String,
    class: &'static str,
}

struct Workload {
    orgs: usize,
    tree: Vec<Node>,
    /// For each resource of the tree: itself and its descendants.
    subtrees: Vec<Vec<usize>>,
    users: Vec<User>,
    /// Every action of the default catalog.
    actions: Vec<ActionSpec>,
    /// Type name to the indexes of its actions in `actions`.
    type_actions: HashMap<String, Vec<usize>>,
}

impl Workload {
    fn generate(orgs: usize, users: usize, rng: &mut StdRng) -> Workload {
        assert!(
            orgs >= 1 && users >= 1,
            "need at least one org and one user"
        );
        let tree = resource_tree();
        let subtrees = (0..tree.len())
            .map(|root| {
                (0..tree.len())
                    .filter(|&n| {
                        let mut cur = Some(n);
                        while let Some(c) = cur {
                            if c == root {
                                return true;
                            }
                            cur = tree[c].parent;
                        }
                        false
                    })
                    .collect()
            })
            .collect();

        let catalog = Catalog::default_catalog();
        let mut actions = Vec::new();
        let mut type_actions: HashMap<String, Vec<usize>> = HashMap::new();
        for (t, a, class) in catalog.all_actions() {
            type_actions
                .entry(t.to_owned())
                .or_default()
                .push(actions.len());
            actions.push(ActionSpec {
                name: format!("{t}:{a}"),
                ty: t.to_owned(),
                class: class.as_str(),
            });
        }

        let users = (0..users)
            .map(|u| {
                let n = rng.random_range(1..=3usize).min(orgs);
                let memberships: Vec<(usize, Role)> = rand::seq::index::sample(rng, orgs, n)
                    .into_iter()
                    .map(|org| {
                        // A plausible mix: few owners and admins.
                        let role = match rng.random_range(0..100u32) {
                            0..5 => Role::Owner,
                            5..15 => Role::Admin,
                            15..50 => Role::Contributor,
                            50..85 => Role::Viewer,
                            _ => Role::ViewerNoSecrets,
                        };
                        (org, role)
                    })
                    .collect();
                let grant = rng.random_bool(EXTRA_ROLE_SHARE).then(|| {
                    let (org, _) = *memberships.choose(rng).expect("at least one membership");
                    let role = if rng.random_bool(0.5) {
                        Role::Devops
                    } else {
                        *Role::BUILTIN.choose(rng).expect("roles")
                    };
                    Grant {
                        org,
                        resource: rng.random_range(0..tree.len()),
                        role,
                    }
                });
                User {
                    id: u as i64 + 1,
                    memberships,
                    grant,
                }
            })
            .collect();

        Workload {
            orgs,
            tree,
            subtrees,
            users,
            actions,
            type_actions,
        }
    }

    /// A random check. Mostly members in one of their orgs, sometimes a
    /// stranger; for users with an extra role, half of the checks in that
    /// org land in the extra role's subtree so that it matters.
    fn candidate(&self, rng: &mut StdRng) -> Query {
        let user = rng.random_range(0..self.users.len());
        let u = &self.users[user];
        let org = if rng.random_bool(0.9) {
            u.memberships.choose(rng).expect("memberships").0
        } else {
            rng.random_range(0..self.orgs)
        };
        let resource = match u.grant {
            Some(g) if g.org == org && rng.random_bool(0.5) => {
                *self.subtrees[g.resource].choose(rng).expect("subtree")
            }
            _ => rng.random_range(0..self.tree.len()),
        };
        // Usually an action of the resource's own type; one check in four on
        // a project or environment asks about a child type ("may I create a
        // cluster in this environment?").
        let ty = match self.tree[resource].ty {
            "projects" if rng.random_bool(0.25) => {
                *["environments", "clusters"].choose(rng).expect("types")
            }
            "environments" if rng.random_bool(0.25) => "clusters",
            t => t,
        };
        let action = *self.type_actions[ty].choose(rng).expect("actions");
        Query {
            org,
            user,
            action,
            resource,
        }
    }

    fn describe(&self, q: &Query) -> String {
        let u = &self.users[q.user];
        let mut s = format!(
            "user u{} asks {} on o{}/{}; memberships:",
            u.id, self.actions[q.action].name, q.org, self.tree[q.resource].key
        );
        for (org, role) in &u.memberships {
            let _ = write!(s, " o{org} as {}", role.name());
        }
        if let Some(g) = u.grant {
            let _ = write!(
                s,
                "; extra role {} on o{}/{}",
                g.role.name(),
                g.org,
                self.tree[g.resource].key
            );
        }
        s
    }
}

/// An engine-neutral check: indexes into the workload.
#[derive(Debug, Clone, Copy)]
struct Query {
    org: usize,
    user: usize,
    action: usize,
    resource: usize,
}

/// An authorization engine under test.
trait Engine {
    /// The engine's native form of a check, built outside the timed loop.
    type Query;
    fn prepare(&self, w: &Workload, q: &Query) -> Self::Query;
    fn check(&self, q: &Self::Query) -> bool;
}

// ---------------------------------------------------------------------------
// Roster
// ---------------------------------------------------------------------------

/// One `OrgIndex` per org, keyed by org id, as the server holds them.
struct Roster {
    orgs: FxHashMap<i64, OrgIndex>,
}

struct RosterQuery {
    org: i64,
    user: i64,
    action: Box<str>,
    resource: Box<str>,
}

fn org_id(org: usize) -> i64 {
    org as i64 + 1
}

fn resource_db_id(org: usize, node: usize) -> i64 {
    (org * 64 + node) as i64 + 1
}

impl Roster {
    /// Builds every org's `OrgState` from the workload, as storage would
    /// return it, and compiles it.
    fn load(w: &Workload) -> Roster {
        let catalog = Catalog::default_catalog();
        let devops = RolePermissions::parse(&DEVOPS_TYPES.map(|t| format!("{t}:*")), &catalog)
            .expect("devops permissions parse");
        let mut states: Vec<OrgState> = (0..w.orgs)
            .map(|org| OrgState {
                revision: 1,
                catalog: catalog.clone(),
                roles: vec![RoleFact {
                    name: Role::Devops.name().to_owned(),
                    permissions: devops.clone(),
                }],
                resources: w
                    .tree
                    .iter()
                    .enumerate()
                    .map(|(i, n)| ResourceFact {
                        id: resource_db_id(org, i),
                        resource_type: n.ty.to_owned(),
                        name: n.name.clone(),
                        parent_id: n.parent.map(|p| resource_db_id(org, p)),
                        groups: vec![],
                        review_actions: vec![],
                    })
                    .collect(),
                ..OrgState::default()
            })
            .collect();
        let mut rule_id = 0;
        for u in &w.users {
            for &(org, role) in &u.memberships {
                states[org].members.push(MemberFact {
                    user_id: u.id,
                    email: format!("u{}@example.com", u.id),
                    active: true,
                    role: role.name().to_owned(),
                });
            }
            if let Some(g) = u.grant {
                rule_id += 1;
                states[g.org].rules.push(RuleFact {
                    id: rule_id,
                    subject: Subject::User(u.id),
                    role: g.role.name().to_owned(),
                    resource_id: Some(resource_db_id(g.org, g.resource)),
                });
            }
        }
        Roster {
            orgs: states
                .into_iter()
                .enumerate()
                .map(|(org, s)| (org_id(org), OrgIndex::build(s)))
                .collect(),
        }
    }

    fn decision(&self, q: &RosterQuery) -> Option<roster_authz::Decision> {
        let ix = self.orgs.get(&q.org)?;
        let action = ix.action(&q.action)?;
        let resource = ix.resource(&q.resource)?;
        Some(ix.check(q.user, action, Some(resource), NOW_MS))
    }

    fn explain(&self, q: &RosterQuery) -> String {
        let Some(ix) = self.orgs.get(&q.org) else {
            return "no such org".into();
        };
        let (Some(a), Some(r)) = (ix.action(&q.action), ix.resource(&q.resource)) else {
            return "unknown action or resource".into();
        };
        ix.explain(&ix.check(q.user, a, Some(r), NOW_MS), a, Some(r))
    }
}

impl Engine for Roster {
    type Query = RosterQuery;

    fn prepare(&self, w: &Workload, q: &Query) -> RosterQuery {
        RosterQuery {
            org: org_id(q.org),
            user: w.users[q.user].id,
            action: w.actions[q.action].name.clone().into_boxed_str(),
            resource: w.tree[q.resource].key.clone().into_boxed_str(),
        }
    }

    #[inline]
    fn check(&self, q: &RosterQuery) -> bool {
        let Some(ix) = self.orgs.get(&q.org) else {
            return false;
        };
        let (Some(action), Some(resource)) = (ix.action(&q.action), ix.resource(&q.resource))
        else {
            return false;
        };
        ix.check(q.user, action, Some(resource), NOW_MS).allowed
    }
}

// ---------------------------------------------------------------------------
// casbin
// ---------------------------------------------------------------------------

/// The casbin model: RBAC with domains (one domain per org), plus resource
/// bindings that inherit down the resource tree.
///
/// - `p = sub, act`: a role and a permission it holds. Permissions are
///   action classes (`class:write`) for built-in roles and whole types
///   (`type:clusters`) for `devops`: 16 lines in all.
/// - `g2 = _, _` (no domain): an action's permissions, e.g.
///   `clusters:deploy -> class:write` and `clusters:deploy -> type:clusters`.
/// - `g = _, _, _` (domain = org):
///   - org-wide roles: `u7, contributor, o3`;
///   - a role on a resource: `u7, devops@environments/e0.1, o3`, i.e. a link
///     from the user to a *binding* node `role@resource`;
///   - the resource tree, inverted, per role that is bound somewhere in the
///     tree: `devops@environments/e0.1 -> devops@clusters/c0.1.0`. Holding a
///     binding on a resource thus implies holding it on every descendant,
///     and `g` answers "does the user hold role X on this resource or an
///     ancestor" with one role-graph search.
///
/// The matcher then asks, for each `p` line (role, permission): does the
/// action carry the permission, and does the user hold the role org-wide or
/// through a binding on the requested resource.
///
/// Why not the textbook `g2` resource tree with one `p` line per grant
/// (`p, u7, o3, environments/e0.1, devops` and `g2(r.obj, p.obj)`)? casbin
/// evaluates the matcher once per `p` line on every `enforce` (no index), so
/// 20,000 per-user lines would make each check scan 20,000 lines. Keeping
/// `p` constant-size and moving all per-user facts into the role graph (hash
/// lookups and a short search) is the fast way to use casbin. Only the
/// subtrees under actual bindings are linked; a real deployment would have
/// to maintain those links (with reference counts) as grants and resources
/// change.
///
/// Note that casbin-rs 2.x shares one role manager between `g` and `g2`;
/// `g2` has no domain and so lives in casbin's `DEFAULT` domain, apart from
/// the org domains.
const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g2(r.act, p.act) && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub + "@" + r.obj, r.dom))
"#;

struct Casbin {
    enforcer: casbin::Enforcer,
    p_lines: usize,
    g_lines: usize,
    g2_lines: usize,
}

struct CasbinQuery {
    sub: String,
    dom: String,
    obj: String,
    act: String,
}

fn casbin_binding(role: Role, resource_key: &str) -> String {
    format!("{}@{resource_key}", role.name())
}

impl Casbin {
    fn load(w: &Workload, rt: &tokio::runtime::Runtime) -> Casbin {
        use casbin::prelude::*;

        let mut p = Vec::new();
        for role in Role::BUILTIN {
            for class in builtin_classes(role) {
                p.push(vec![role.name().to_owned(), format!("class:{class}")]);
            }
        }
        for t in DEVOPS_TYPES {
            p.push(vec![Role::Devops.name().to_owned(), format!("type:{t}")]);
        }

        let mut g2 = Vec::new();
        for a in &w.actions {
            g2.push(vec![a.name.clone(), format!("class:{}", a.class)]);
            g2.push(vec![a.name.clone(), format!("type:{}", a.ty)]);
        }

        let mut g = Vec::new();
        let mut linked: HashSet<(usize, Role, usize)> = HashSet::new();
        for u in &w.users {
            let sub = format!("u{}", u.id);
            for &(org, role) in &u.memberships {
                g.push(vec![sub.clone(), role.name().to_owned(), format!("o{org}")]);
            }
            if let Some(grant) = u.grant {
                let dom = format!("o{}", grant.org);
                g.push(vec![
                    sub.clone(),
                    casbin_binding(grant.role, &w.tree[grant.resource].key),
                    dom.clone(),
                ]);
                // Inverted tree under the bound resource: parent binding ->
                // child binding, each edge once per (org, role).
                for &n in &w.subtrees[grant.resource] {
                    let Some(parent) = w.tree[n].parent else {
                        continue;
                    };
                    if n != grant.resource && linked.insert((grant.org, grant.role, n)) {
                        g.push(vec![
                            casbin_binding(grant.role, &w.tree[parent].key),
                            casbin_binding(grant.role, &w.tree[n].key),
                            dom.clone(),
                        ]);
                    }
                }
            }
        }
        let (p_lines, g_lines, g2_lines) = (p.len(), g.len(), g2.len());

        let enforcer = rt.block_on(async {
            let model = DefaultModel::from_str(CASBIN_MODEL)
                .await
                .expect("casbin model parses");
            let mut e = Enforcer::new(model, MemoryAdapter::default())
                .await
                .expect("casbin enforcer");
            // Keep the policy in the enforcer's model only, not a second
            // copy in the adapter (a real adapter would be a database).
            e.enable_auto_save(false);
            assert!(
                e.add_policies(p).await.expect("p lines"),
                "duplicate p line"
            );
            assert!(
                e.add_named_grouping_policies("g2", g2)
                    .await
                    .expect("g2 lines"),
                "duplicate g2 line"
            );
            assert!(
                e.add_grouping_policies(g).await.expect("g lines"),
                "duplicate g line"
            );
            e
        });
        Casbin {
            enforcer,
            p_lines,
            g_lines,
            g2_lines,
        }
    }
}

impl Engine for Casbin {
    type Query = CasbinQuery;

    fn prepare(&self, w: &Workload, q: &Query) -> CasbinQuery {
        CasbinQuery {
            sub: format!("u{}", w.users[q.user].id),
            dom: format!("o{}", q.org),
            obj: w.tree[q.resource].key.clone(),
            act: w.actions[q.action].name.clone(),
        }
    }

    #[inline]
    fn check(&self, q: &CasbinQuery) -> bool {
        use casbin::CoreApi;
        self.enforcer
            .enforce((
                q.sub.as_str(),
                q.dom.as_str(),
                q.obj.as_str(),
                q.act.as_str(),
            ))
            .expect("casbin enforce")
    }
}

// ---------------------------------------------------------------------------
// cedar
// ---------------------------------------------------------------------------

/// The cedar encoding: one entity store for all orgs, six static policies.
///
/// - Resources: `Project::"o3/p0"`, `Environment::"o3/e0.1"`,
///   `Cluster::"o3/c0.1.0"`, each a child of its parent resource, projects
///   children of `Org::"o3"`; every resource has `org: Org::"o3"`.
/// - Org roles: one group entity per org and built-in role,
///   `Role::"o3/viewer"`; a member is a child of their role's group (user
///   parents = org memberships). `Org::"o3"` names its groups in attributes
///   (`owner`, `admin`, ..., `viewer_no_secrets`), so that one policy per
///   role serves every org: `principal in resource.org.viewer`.
/// - A role on a resource: a set attribute on the user,
///   `devops_on: [Environment::"o3/e0.1"]`, matched with
///   `resource in principal.devops_on`, which holds for the resource and
///   all its descendants through the resource hierarchy.
/// - Actions: `Action::"clusters:deploy"` is a child of its class group
///   `Action::"class:write"` and its type group `Action::"type:clusters"`;
///   those are children of the action group of each role holding them
///   (`Action::"role:contributor"`, `Action::"role:devops"`), and each
///   policy names one such group. (Listing the classes in the policy,
///   `action in [Action::"class:read", ...]`, is equivalent but slower:
///   cedar builds the set on every evaluation.)
///
/// cedar evaluates every policy on every request (no index), so per-org or
/// per-grant policies would be as slow as per-grant `p` lines in casbin;
/// the policies stay generic and the facts live in entities.
struct Cedar {
    authorizer: cedar_policy::Authorizer,
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    entity_count: usize,
    ids: CedarUids,
}

fn cedar_type(roster_type: &str) -> &'static str {
    match roster_type {
        "projects" => "Project",
        "environments" => "Environment",
        "clusters" => "Cluster",
        other => panic!("no cedar type for {other}"),
    }
}

/// The policy text: one policy per role, each naming the role's action
/// group (a single group entity, cheaper for cedar than a set of classes).
fn cedar_policies() -> String {
    let mut text = String::new();
    for role in Role::BUILTIN {
        let r = role.ident();
        let _ = writeln!(
            text,
            "@id(\"{name}\")\npermit (principal, action in Action::\"role:{name}\", resource)\nwhen {{\n    principal in resource.org.{r} ||\n    (principal has {r}_on && resource in principal.{r}_on)\n}};\n",
            name = role.name(),
        );
    }
    let r = Role::Devops.ident();
    let _ = writeln!(
        text,
        "@id(\"devops\")\npermit (principal, action in Action::\"role:{name}\", resource)\nwhen {{\n    principal has {r}_on && resource in principal.{r}_on\n}};",
        name = Role::Devops.name(),
    );
    text
}

struct CedarUids {
    user: cedar_policy::EntityTypeName,
    role: cedar_policy::EntityTypeName,
    org: cedar_policy::EntityTypeName,
    action: cedar_policy::EntityTypeName,
    resource: HashMap<&'static str, cedar_policy::EntityTypeName>,
}

impl CedarUids {
    fn new() -> CedarUids {
        let ty = |s: &str| cedar_policy::EntityTypeName::from_str(s).expect("cedar type name");
        CedarUids {
            user: ty("User"),
            role: ty("Role"),
            org: ty("Org"),
            action: ty("Action"),
            resource: ["projects", "environments", "clusters"]
                .into_iter()
                .map(|t| (t, ty(cedar_type(t))))
                .collect(),
        }
    }

    fn uid(ty: &cedar_policy::EntityTypeName, id: &str) -> cedar_policy::EntityUid {
        cedar_policy::EntityUid::from_type_name_and_id(ty.clone(), cedar_policy::EntityId::new(id))
    }

    fn user(&self, id: i64) -> cedar_policy::EntityUid {
        Self::uid(&self.user, &format!("u{id}"))
    }

    fn role(&self, org: usize, role: Role) -> cedar_policy::EntityUid {
        Self::uid(&self.role, &format!("o{org}/{}", role.name()))
    }

    fn org(&self, org: usize) -> cedar_policy::EntityUid {
        Self::uid(&self.org, &format!("o{org}"))
    }

    fn action(&self, name: &str) -> cedar_policy::EntityUid {
        Self::uid(&self.action, name)
    }

    fn resource(&self, w: &Workload, org: usize, node: usize) -> cedar_policy::EntityUid {
        let n = &w.tree[node];
        Self::uid(&self.resource[n.ty], &format!("o{org}/{}", n.name))
    }
}

impl Cedar {
    fn load(w: &Workload) -> Cedar {
        use cedar_policy::{Entity, RestrictedExpression as Expr};

        let ids = CedarUids::new();
        let mut entities: Vec<Entity> = Vec::new();

        // Actions: each action is in its class group and its type group;
        // class and type groups are in the group of every role that holds
        // them.
        for role in Role::BUILTIN.into_iter().chain([Role::Devops]) {
            let group = ids.action(&format!("role:{}", role.name()));
            entities.push(Entity::new_no_attrs(group, HashSet::new()));
        }
        for class in ["read", "write", "secret", "admin"] {
            let parents = Role::BUILTIN
                .into_iter()
                .filter(|&r| builtin_classes(r).contains(&class))
                .map(|r| ids.action(&format!("role:{}", r.name())))
                .collect();
            entities.push(Entity::new_no_attrs(
                ids.action(&format!("class:{class}")),
                parents,
            ));
        }
        for t in w.type_actions.keys() {
            let mut parents = HashSet::new();
            if DEVOPS_TYPES.contains(&t.as_str()) {
                parents.insert(ids.action(&format!("role:{}", Role::Devops.name())));
            }
            entities.push(Entity::new_no_attrs(
                ids.action(&format!("type:{t}")),
                parents,
            ));
        }
        for a in &w.actions {
            let parents = HashSet::from([
                ids.action(&format!("class:{}", a.class)),
                ids.action(&format!("type:{}", a.ty)),
            ]);
            entities.push(Entity::new_no_attrs(ids.action(&a.name), parents));
        }

        // Orgs, their role groups and their resource trees.
        for org in 0..w.orgs {
            let attrs = Role::BUILTIN
                .iter()
                .map(|&r| (r.ident().to_owned(), Expr::new_entity_uid(ids.role(org, r))))
                .collect();
            entities.push(Entity::new(ids.org(org), attrs, HashSet::new()).expect("org entity"));
            for r in Role::BUILTIN {
                entities.push(Entity::new_no_attrs(ids.role(org, r), HashSet::new()));
            }
            for (i, n) in w.tree.iter().enumerate() {
                let parent = match n.parent {
                    Some(p) => ids.resource(w, org, p),
                    None => ids.org(org),
                };
                let attrs = HashMap::from([("org".to_owned(), Expr::new_entity_uid(ids.org(org)))]);
                entities.push(
                    Entity::new(ids.resource(w, org, i), attrs, HashSet::from([parent]))
                        .expect("resource entity"),
                );
            }
        }

        // Users: parents are their org role groups; a role on a resource is
        // a set attribute `<role>_on`.
        for u in &w.users {
            let parents = u
                .memberships
                .iter()
                .map(|&(org, role)| ids.role(org, role))
                .collect();
            let mut attrs = HashMap::new();
            if let Some(g) = u.grant {
                attrs.insert(
                    format!("{}_on", g.role.ident()),
                    Expr::new_set([Expr::new_entity_uid(ids.resource(w, g.org, g.resource))]),
                );
            }
            entities.push(Entity::new(ids.user(u.id), attrs, parents).expect("user entity"));
        }

        let entity_count = entities.len();
        let entities =
            cedar_policy::Entities::from_entities(entities, None).expect("cedar entities");
        let policies =
            cedar_policy::PolicySet::from_str(&cedar_policies()).expect("cedar policies parse");
        Cedar {
            authorizer: cedar_policy::Authorizer::new(),
            policies,
            entities,
            entity_count,
            ids,
        }
    }

    fn response(&self, q: &cedar_policy::Request) -> cedar_policy::Response {
        self.authorizer
            .is_authorized(q, &self.policies, &self.entities)
    }
}

impl Engine for Cedar {
    type Query = cedar_policy::Request;

    fn prepare(&self, w: &Workload, q: &Query) -> cedar_policy::Request {
        // Building the UIDs here, once, keeps them out of the timed loop: a
        // generous choice for cedar.
        let ids = &self.ids;
        cedar_policy::Request::new(
            ids.user(w.users[q.user].id),
            ids.action(&w.actions[q.action].name),
            ids.resource(w, q.org, q.resource),
            cedar_policy::Context::empty(),
            None,
        )
        .expect("cedar request")
    }

    #[inline]
    fn check(&self, q: &cedar_policy::Request) -> bool {
        self.response(q).decision() == cedar_policy::Decision::Allow
    }
}

// ---------------------------------------------------------------------------
// Queries, agreement, timing
// ---------------------------------------------------------------------------

/// `n` random checks, half allowed and half denied by Roster, shuffled.
fn balanced_queries(w: &Workload, roster: &Roster, n: usize, rng: &mut StdRng) -> Vec<Query> {
    let (want_yes, want_no) = (n / 2, n - n / 2);
    let (mut yes, mut no) = (Vec::with_capacity(want_yes), Vec::with_capacity(want_no));
    let mut draws = 0usize;
    while yes.len() < want_yes || no.len() < want_no {
        draws += 1;
        assert!(
            draws <= n.saturating_mul(100).max(10_000),
            "cannot balance the queries: {} allowed and {} denied after {draws} draws",
            yes.len(),
            no.len()
        );
        let q = w.candidate(rng);
        if roster.check(&roster.prepare(w, &q)) {
            if yes.len() < want_yes {
                yes.push(q);
            }
        } else if no.len() < want_no {
            no.push(q);
        }
    }
    yes.append(&mut no);
    yes.shuffle(rng);
    yes
}

/// Panics at the first query on which the engines disagree (or on which
/// cedar reports an evaluation error, which would mean a broken encoding).
fn assert_agreement(
    what: &str,
    w: &Workload,
    queries: &[Query],
    roster: &Roster,
    casbin: &Casbin,
    cedar: &Cedar,
) -> usize {
    let mut allowed = 0;
    for (i, q) in queries.iter().enumerate() {
        let rq = roster.prepare(w, q);
        let a = roster.check(&rq);
        let b = casbin.check(&casbin.prepare(w, q));
        let response = cedar.response(&cedar.prepare(w, q));
        let c = response.decision() == cedar_policy::Decision::Allow;
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if a != b || a != c || !errors.is_empty() {
            panic!(
                "engines disagree on {what} query #{i}: {}\n  roster={a} casbin={b} cedar={c}\n  roster: {}\n  cedar errors: {errors:?}",
                w.describe(q),
                roster.explain(&rq),
            );
        }
        allowed += usize::from(a);
    }
    allowed
}

#[derive(Clone, Copy)]
struct Timing {
    median_ns: f64,
    p99_ns: f64,
}

/// Times `checks` checks in batches of `batch`, cycling over `queries`, and
/// returns the median and 99th percentile of the per-check time of a batch.
fn time_checks<E: Engine>(engine: &E, queries: &[E::Query], checks: usize, batch: usize) -> Timing {
    // Warm-up: one pass (at most `checks` long).
    for q in queries.iter().take(checks) {
        black_box(engine.check(black_box(q)));
    }
    let batches = (checks / batch).max(1);
    let mut samples = Vec::with_capacity(batches);
    let mut i = 0;
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(engine.check(black_box(&queries[i])));
            i += 1;
            if i == queries.len() {
                i = 0;
            }
        }
        samples.push(start.elapsed().as_nanos() as f64 / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    Timing {
        median_ns: at(0.5),
        p99_ns: at(0.99),
    }
}

fn bench_engine<E: Engine>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    engine: &E,
    queries: &[E::Query],
) {
    group.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let q = &queries[i];
            i += 1;
            if i == queries.len() {
                i = 0;
            }
            engine.check(q)
        })
    });
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let orgs = env_usize("ROSTER_BENCH_ORGS", 1_000);
    let users = env_usize("ROSTER_BENCH_USERS", 100_000);
    let n_queries = env_usize("ROSTER_BENCH_QUERIES", 200_000).max(2);
    let n_agree = env_usize("ROSTER_BENCH_AGREE", 10_000);
    let seed = env_usize("ROSTER_BENCH_SEED", 42) as u64;
    const TIMED_CHECKS: usize = 200_000;
    const BATCH: usize = 100;

    // --- Workload ---------------------------------------------------------
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let w = Workload::generate(orgs, users, &mut rng);
    let memberships: usize = w.users.iter().map(|u| u.memberships.len()).sum();
    let grants: Vec<Grant> = w.users.iter().filter_map(|u| u.grant).collect();
    let devops = grants.iter().filter(|g| g.role == Role::Devops).count();
    eprintln!(
        "workload: {orgs} orgs x {} resources, {users} users, {memberships} memberships, \
         {} extra roles on resources ({devops} devops, {} built-in), seed {seed} ({:.1?})",
        w.tree.len(),
        grants.len(),
        grants.len() - devops,
        start.elapsed()
    );

    // --- Load -------------------------------------------------------------
    // The runtime casbin's async API needs is built outside the measurement.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let (roster, roster_load) = measure_load(|| Roster::load(&w));
    let (casbin, casbin_load) = measure_load(|| Casbin::load(&w, &rt));
    let (cedar, cedar_load) = measure_load(|| Cedar::load(&w));
    eprintln!(
        "loaded: roster {} org indexes; casbin {} p + {} g + {} g2 lines; cedar {} entities, {} policies",
        roster.orgs.len(),
        casbin.p_lines,
        casbin.g_lines,
        casbin.g2_lines,
        cedar.entity_count,
        cedar.policies.policies().count()
    );

    // --- Agreement --------------------------------------------------------
    let mut agree_rng = StdRng::seed_from_u64(seed.wrapping_add(1));
    let random: Vec<Query> = (0..n_agree).map(|_| w.candidate(&mut agree_rng)).collect();
    let start = Instant::now();
    let allowed = assert_agreement("random", &w, &random, &roster, &casbin, &cedar);
    eprintln!(
        "agreement: all three engines agree on {n_agree} random queries ({allowed} allowed, {:.1}%) ({:.1?})",
        100.0 * allowed as f64 / n_agree.max(1) as f64,
        start.elapsed()
    );

    let mut query_rng = StdRng::seed_from_u64(seed.wrapping_add(2));
    let queries = balanced_queries(&w, &roster, n_queries, &mut query_rng);
    let start = Instant::now();
    let allowed = assert_agreement("timed", &w, &queries, &roster, &casbin, &cedar);
    // Where Roster's answers come from, to show the workload exercises both
    // org roles and resource-scoped roles.
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for q in &queries {
        let d = roster.decision(&roster.prepare(&w, q));
        let key = match d.map(|d| d.reason) {
            Some(roster_authz::Reason::UserRule { .. }) => "access_rule (role on a resource)",
            Some(r) => r.code(),
            None => "unresolved",
        };
        *reasons.entry(key.to_owned()).or_default() += 1;
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort();
    eprintln!(
        "agreement: all three engines agree on the {} timed queries ({allowed} allowed) ({:.1?}); roster reasons: {reasons:?}",
        queries.len(),
        start.elapsed()
    );

    let roster_q: Vec<RosterQuery> = queries.iter().map(|q| roster.prepare(&w, q)).collect();
    let casbin_q: Vec<CasbinQuery> = queries.iter().map(|q| casbin.prepare(&w, q)).collect();
    let cedar_q: Vec<cedar_policy::Request> =
        queries.iter().map(|q| cedar.prepare(&w, q)).collect();

    // --- Per-check distribution, measured by hand -------------------------
    let roster_t = time_checks(&roster, &roster_q, TIMED_CHECKS, BATCH);
    let casbin_t = time_checks(&casbin, &casbin_q, TIMED_CHECKS, BATCH);
    let cedar_t = time_checks(&cedar, &cedar_q, TIMED_CHECKS, BATCH);

    // --- criterion ----------------------------------------------------------
    let mut c = Criterion::default().configure_from_args();
    {
        let mut group = c.benchmark_group("check");
        group.throughput(Throughput::Elements(1));
        bench_engine(&mut group, "roster", &roster, &roster_q);
        bench_engine(&mut group, "casbin", &casbin, &casbin_q);
        bench_engine(&mut group, "cedar", &cedar, &cedar_q);
        group.finish();
    }
    c.final_summary();

    // --- Report -------------------------------------------------------------
    let rows = [
        ("roster", roster_t, roster_load),
        ("casbin", casbin_t, casbin_load),
        ("cedar", cedar_t, cedar_load),
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nRBAC check: {orgs} orgs, {users} users, {} timed queries (50% allowed); \
         per-check times from {TIMED_CHECKS} checks in batches of {BATCH}\n",
        queries.len()
    );
    let _ = writeln!(
        out,
        "| engine | median ns/check | p99 ns/check | load time | memory MiB |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (name, t, l) in rows {
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.0} | {:.2} s | {:.1} |",
            t.median_ns,
            t.p99_ns,
            l.time.as_secs_f64(),
            mib(l.bytes)
        );
    }
    let _ = writeln!(
        out,
        "\n| peer / roster | median | p99 | load time | memory |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (name, t, l) in &rows[1..] {
        let _ = writeln!(
            out,
            "| {name} | {:.1}x | {:.1}x | {:.1}x | {:.1}x |",
            t.median_ns / roster_t.median_ns,
            t.p99_ns / roster_t.p99_ns,
            l.time.as_secs_f64() / roster_load.time.as_secs_f64(),
            l.bytes as f64 / roster_load.bytes as f64
        );
    }
    eprintln!("{out}");
}
