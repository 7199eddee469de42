//! Cookie rewriting with the Lua filter (`envoy.filters.http.lua`).
//!
//! The listener's Lua filter carries no script. A forwarding route with rewrites gives each of
//! its weighted clusters one fixed script, [`COOKIE_REWRITE_SCRIPT`], and the rules as the
//! per-route *filter context*, a protobuf `Struct`. User strings (cookie names, paths, domains)
//! are therefore only ever data: no configuration is generated as code, so no value can change
//! what the script does. (Upstream Contour once templated these values into Lua source, which
//! allowed code injection.)
//!
//! The script travels with the routes that use it, as upstream's per-route scripts do, rather
//! than in every HTTP connection manager: Envoy compiles a listener filter's scripts once per
//! filter chain and worker, and with one chain per TLS virtual host (2,000 at 10k HTTPProxies)
//! that was 2,000 copies of a script almost no route runs, 4.4 MB of every listener.

use contour_dag::{CookieRewrite, merge_cookie_rewrites};
use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::filters::http::lua::v3::{Lua, LuaPerRoute, lua_per_route};
use envoy_types::pb::google::protobuf::{Any, Struct, Value, value};

use crate::pb::{det_map, to_any};

/// Key of the rules in the filter context.
pub const RULES_KEY: &str = "cookie_rewrites";

/// Rewrites the attributes of `Set-Cookie` response headers whose cookie name has a rule in
/// the filter context. Attributes keep their order; a rewritten attribute replaces the
/// existing one in place, a new one is appended; `secure: false` removes `Secure`. A value
/// that could change the header's structure (a `;` or a control character) is never written.
pub const COOKIE_REWRITE_SCRIPT: &str = r#"-- Contour cookie rewriting. This source never changes: the rules come only from the
-- route's filter context, as data.

local function trim(s)
  return (string.gsub(s, "^%s*(.-)%s*$", "%1"))
end

local function safe(v)
  return type(v) == "string" and v ~= "" and string.find(v, "[%c;]") == nil
end

local function split(header)
  local parts = {}
  local start = 1
  while true do
    local semi = string.find(header, ";", start, true)
    if semi == nil then
      table.insert(parts, string.sub(header, start))
      return parts
    end
    table.insert(parts, string.sub(header, start, semi - 1))
    start = semi + 1
  end
end

local function replacements(rule)
  local wanted, order = {}, {}
  local function want(key, text)
    wanted[key] = text
    table.insert(order, key)
  end
  if safe(rule.path) then want("path", "Path=" .. rule.path) end
  if safe(rule.domain) then want("domain", "Domain=" .. rule.domain) end
  if safe(rule.sameSite) then want("samesite", "SameSite=" .. rule.sameSite) end
  if rule.secure == true then
    want("secure", "Secure")
  elseif rule.secure == false then
    want("secure", false)
  end
  return wanted, order
end

local function rewrite(header, rules)
  local eq = string.find(header, "=", 1, true)
  if eq == nil then
    return header
  end
  local rule = rules[trim(string.sub(header, 1, eq - 1))]
  if type(rule) ~= "table" then
    return header
  end
  local wanted, order = replacements(rule)
  local parts = split(header)
  local out, done = { trim(parts[1]) }, {}
  for i = 2, #parts do
    local attr = trim(parts[i])
    local key = string.lower(trim(string.match(attr, "^[^=]*")))
    if wanted[key] ~= nil then
      if not done[key] and wanted[key] then
        table.insert(out, wanted[key])
      end
      done[key] = true
    elseif attr ~= "" then
      table.insert(out, attr)
    end
  end
  for _, key in ipairs(order) do
    if not done[key] and wanted[key] then
      table.insert(out, wanted[key])
    end
  end
  return table.concat(out, "; ")
end

function envoy_on_response(response_handle)
  local rules = response_handle:filterContext():get("cookie_rewrites")
  if type(rules) ~= "table" then
    return
  end
  local headers = response_handle:headers()
  if headers:get("set-cookie") == nil then
    return
  end
  local rewritten = {}
  for name, value in pairs(headers) do
    if name == "set-cookie" then
      table.insert(rewritten, rewrite(value, rules))
    end
  end
  headers:remove("set-cookie")
  for _, value in ipairs(rewritten) do
    headers:add("set-cookie", value)
  end
end
"#;

/// The listener-level Lua filter: no script of its own, so nothing runs on routes without
/// rewrites; the routes with rewrites bring theirs ([`cookie_rewrite_per_route`]).
pub fn lua_filter() -> Lua {
    Lua::default()
}

/// The per-route Lua config of one weighted cluster: the fixed script plus the merged rules
/// (route's, then the service's) as filter context; `None` without rewrites.
pub fn cookie_rewrite_per_route(
    route: &[CookieRewrite],
    service: &[CookieRewrite],
) -> Option<LuaPerRoute> {
    let rules = merge_cookie_rewrites(route, service);
    if rules.is_empty() {
        return None;
    }
    let rules = rules
        .iter()
        .map(|r| (r.name.clone(), struct_value(rule_fields(r))));
    let context = Struct {
        fields: det_map([(RULES_KEY.to_string(), struct_value(det_map(rules)))]),
    };
    Some(LuaPerRoute {
        filter_context: Some(context),
        r#override: Some(lua_per_route::Override::SourceCode(DataSource {
            specifier: Some(data_source::Specifier::InlineString(
                COOKIE_REWRITE_SCRIPT.to_string(),
            )),
            ..Default::default()
        })),
        ..Default::default()
    })
}

/// `typed_per_filter_config` entries for one weighted cluster.
pub fn cluster_filter_configs(
    route: &[CookieRewrite],
    service: &[CookieRewrite],
) -> std::collections::HashMap<String, Any> {
    let entry = cookie_rewrite_per_route(route, service)
        .map(|c| (crate::listener::LUA_FILTER.to_string(), to_any(&c)));
    det_map(entry)
}

fn rule_fields(r: &CookieRewrite) -> std::collections::HashMap<String, Value> {
    let string = |s: &String| Value {
        kind: Some(value::Kind::StringValue(s.clone())),
    };
    let mut fields: Vec<(String, Value)> = Vec::new();
    if let Some(p) = &r.path {
        fields.push(("path".into(), string(p)));
    }
    if let Some(d) = &r.domain {
        fields.push(("domain".into(), string(d)));
    }
    if let Some(s) = &r.same_site {
        fields.push(("sameSite".into(), string(s)));
    }
    if let Some(secure) = r.secure {
        let v = Value {
            kind: Some(value::Kind::BoolValue(secure)),
        };
        fields.push(("secure".into(), v));
    }
    det_map(fields)
}

fn struct_value(fields: std::collections::HashMap<String, Value>) -> Value {
    Value {
        kind: Some(value::Kind::StructValue(Struct { fields })),
    }
}
