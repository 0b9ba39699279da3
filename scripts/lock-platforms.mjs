#!/usr/bin/env node
// Adds lockfile entries for the other platforms' optional binaries (darwin, win32, …).
// The registry this project installs from serves only this machine's platform packages, so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock
// ("Missing: … from lock file"). Each entry carries os/cpu, so npm skips it everywhere else.
// Run after `npm install` changed the lock: `node scripts/lock-platforms.mjs`. It writes the lock
// the way npm does (lockText), so a later `npm install` leaves it byte for byte as it is;
// scripts/check-lock.mjs checks that.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const pkgs = lock.packages;

const OS = [
	"darwin",
	"linux",
	"win32",
	"android",
	"freebsd",
	"openbsd",
	"netbsd",
	"sunos",
	"aix",
	"openharmony",
	"windows",
];
const CPU = ["arm64", "x64", "ia32", "arm", "ppc64", "s390x", "riscv64", "loong64", "mips64el", "wasm32", "64"];

function platformOf(name) {
	const base = name.split("/").pop();
	const parts = base.split("-");
	let os = parts.find((p) => OS.includes(p));
	if (os === "windows") os = "win32";
	let cpu = parts.find((p) => CPU.includes(p) && p !== "64") ?? (parts.includes("64") ? "x64" : undefined);
	if (base.includes("arm-eabi") || base.includes("armv7") || base.endsWith("-arm")) cpu = cpu ?? "arm";
	const libc = base.includes("musl") ? "musl" : base.includes("gnu") ? "glibc" : undefined;
	return { os, cpu, libc };
}

/** Where npm would find `name` (at `version`) when required from package path `from`. */
function resolveFrom(from, name, version) {
	let dir = from;
	for (;;) {
		const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
		if (pkgs[candidate]) return pkgs[candidate].version === version ? candidate : null;
		if (!dir) return null;
		const i = dir.lastIndexOf("/node_modules/");
		dir = i >= 0 ? dir.slice(0, i) : "";
	}
}

let added = 0;
for (const [location, entry] of Object.entries({ ...pkgs })) {
	const optional = entry.optionalDependencies ?? {};
	const names = Object.keys(optional);
	if (names.length === 0) continue;
	// Place missing siblings beside an installed one (same directory), else beside the parent.
	const wanted = (n) => optional[n].replace(/^[~^=]/, "");
	const present = names.map((n) => resolveFrom(location, n, wanted(n))).find(Boolean);
	const dir = present ? present.slice(0, present.lastIndexOf("node_modules/")) : location ? `${location}/` : "";
	for (const name of names) {
		if (resolveFrom(location, name, wanted(name))) continue;
		const { os, cpu, libc } = platformOf(name);
		if (!os && !cpu) continue;
		const record = { version: wanted(name), dev: entry.dev || undefined, optional: true };
		if (cpu) record.cpu = [cpu];
		if (libc) record.libc = [libc];
		if (os) record.os = [os];
		pkgs[`${dir}node_modules/${name}`] = record;
		added++;
	}
}
writeFileSync(path, lockText(lock));
console.log(`lock-platforms: added ${added} platform entries`);

/**
 * The lock as npm writes it (@npmcli/arborist's Shrinkwrap, through json-stringify-nice): in every
 * object, plain values (arrays included) before nested objects; within each group the keys npm
 * ranks first (name, version, resolved, integrity, …) in its order, the rest by localeCompare "en".
 * A tab indent, as this repo's lock has always had (npm keeps the indent it finds).
 */
function lockText(value) {
	const ranked = [
		"name",
		"version",
		"lockfileVersion",
		"resolved",
		"integrity",
		"requires",
		"packages",
		"dependencies",
	];
	const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
	const byName = (a, b) => {
		const ra = ranked.indexOf(a);
		const rb = ranked.indexOf(b);
		if (ra >= 0 || rb >= 0) return ra < 0 ? 1 : rb < 0 ? -1 : ra - rb;
		return a.localeCompare(b, "en");
	};
	const sorted = (_key, v) =>
		isObject(v)
			? Object.fromEntries(
					Object.entries(v).sort(([ak, av], [bk, bv]) =>
						isObject(av) === isObject(bv) ? byName(ak, bk) : isObject(av) ? 1 : -1,
					),
				)
			: v;
	return `${JSON.stringify(value, sorted, "\t")}\n`;
}
