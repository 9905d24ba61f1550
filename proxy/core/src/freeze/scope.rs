//! What a freeze window covers: tenant and route globs ([`Scope`]), and what a change or a
//! request touches ([`Target`]). A scope errs on the side of freezing: a change whose reach is
//! wider than the scope (a route-wide canary change under a tenant-scoped window, a tenant-wide
//! limit change under a route-scoped one) is covered, because it moves that scope's traffic
//! too; only a change that provably lies outside the scope passes.

/// A name pattern where `*` stands for any run of characters (also none); every other
/// character matches itself, case-sensitively. `acme*` matches `acme` and `acme-eu`; `*`
/// matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob(String);

impl Glob {
    /// A glob from its text; refuses an empty pattern (it could only match the empty name).
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("empty glob (use * for every name)".into());
        }
        Ok(Glob(pattern.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let mut segments = self.0.split('*');
        let first = segments.next().unwrap_or_default();
        let Some(mut rest) = name.strip_prefix(first) else {
            return false;
        };
        let mut segments = segments.peekable();
        if segments.peek().is_none() {
            return rest.is_empty();
        }
        // Between stars, the leftmost match of each literal segment is never worse than a later
        // one, so a greedy scan decides; the last segment must then end the name.
        while let Some(segment) = segments.next() {
            if segments.peek().is_none() {
                return rest.ends_with(segment);
            }
            match rest.find(segment) {
                Some(i) => rest = &rest[i + segment.len()..],
                None => return false,
            }
        }
        true
    }
}

impl std::fmt::Display for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a change or a request touches. `None` means "not limited to one": a route-wide canary
/// change has no tenant, a tenant's rate-limit change has no route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The route touched, or `None` for every route.
    pub route: Option<&'a str>,
    /// The tenant touched, or `None` for every tenant.
    pub tenant: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// Everything (a change to the whole platform).
    pub const ALL: Target<'static> = Target {
        route: None,
        tenant: None,
    };

    /// A route-wide target (every tenant on `route`).
    pub fn route(route: &'a str) -> Target<'a> {
        Target {
            route: Some(route),
            tenant: None,
        }
    }

    /// A tenant-wide target (`tenant` on every route).
    pub fn tenant(tenant: &'a str) -> Target<'a> {
        Target {
            route: None,
            tenant: Some(tenant),
        }
    }
}

/// The tenants and routes a window freezes. An empty list means every tenant (or route).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    tenants: Vec<Glob>,
    routes: Vec<Glob>,
}

impl Scope {
    /// A scope over the tenants matching any of `tenants` and the routes matching any of
    /// `routes`; an empty list places no limit on its axis.
    pub fn new(tenants: Vec<Glob>, routes: Vec<Glob>) -> Scope {
        Scope { tenants, routes }
    }

    /// The scope that covers everything.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Tenant globs (empty: every tenant).
    pub fn tenants(&self) -> &[Glob] {
        &self.tenants
    }

    /// Route globs (empty: every route).
    pub fn routes(&self) -> &[Glob] {
        &self.routes
    }

    /// True when the window freezes `target`. Each axis is checked on its own and both must
    /// hold: an axis with no globs covers anything; an axis with globs covers a named tenant
    /// (route) that matches one of them, and also a target that names none on that axis,
    /// since such a change reaches the scoped tenants (routes) as well.
    pub fn covers(&self, target: &Target<'_>) -> bool {
        axis_covers(&self.tenants, target.tenant) && axis_covers(&self.routes, target.route)
    }
}

fn axis_covers(globs: &[Glob], name: Option<&str>) -> bool {
    match name {
        None => true,
        Some(n) => globs.is_empty() || globs.iter().any(|g| g.matches(n)),
    }
}
