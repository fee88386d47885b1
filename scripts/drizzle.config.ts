import { execFileSync } from "node:child_process";
import { defineConfig } from "drizzle-kit";

// The schema is split by area (src/storage/schema*.ts). A migration is generated from the schema
// files committed to git plus the ones named in DRIZZLE_SCHEMA_EXTRA (comma-separated), so that a
// half-written schema file in the working tree never leaks into someone else's migration.
const tracked = execFileSync("git", ["ls-files", "src/storage/schema*.ts"], { encoding: "utf8" }).split("\n").filter(Boolean);
const extra = (process.env.DRIZZLE_SCHEMA_EXTRA ?? "").split(",").map((s) => s.trim()).filter(Boolean);

export default defineConfig({
  dialect: "sqlite",
  schema: [...new Set([...tracked, ...extra])].map((f) => `./${f.replace(/^\.\//, "")}`),
  out: "./migrations",
});
