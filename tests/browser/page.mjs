// The page in a real browser: upload a generated export, wait for quick_ready, see the sections,
// send a chat message, see the streamed reply. Then a larger import, the server SIGKILLed while
// it runs and started again: the import continues and the page shows it complete. A screenshot
// of each step goes to $SHOTS.
//
// Usage: node page.mjs SOULPRINT_BINARY WORK_DIR SHOTS_DIR
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [bin, work, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
mkdirSync(work, { recursive: true });
const env = { ...process.env, SOULPRINT_DATA_DIR: join(work, "data") };
for (const k of ["SOULPRINT_MODEL_URL", "SOULPRINT_MODEL", "SOULPRINT_MODEL_CONTEXT"]) delete env[k];
const exportZip = join(work, "export.zip");
execFileSync(bin, ["generate", exportZip, "--size", "3MB", "--seed", "9"], { env, stdio: ["ignore", "ignore", "inherit"] });
const token = execFileSync(bin, ["token"], { env }).toString().trim();

const port = 18000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;
async function serve() {
  const server = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`], { env, stdio: ["ignore", "ignore", "ignore"] });
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + "/health")).ok) return server; } catch {}
    if (i > 100) throw new Error("the server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}
let server = await serve();

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => { console.error("page error:", e.message); failed = true; });
  await page.goto(`${base}/#token=${token}`);
  await page.screenshot({ path: join(shots, "1-signed-in.png") });

  await page.setInputFiles("#file", exportZip);
  await page.waitForFunction(() => document.querySelector("#import-words").textContent.match(/quick_ready|complete/), null, { timeout: 60000 });
  await page.screenshot({ path: join(shots, "2-uploaded-and-imported.png") });

  await page.waitForFunction(() => document.querySelector("#sections").textContent.includes("## SOUL"), null, { timeout: 30000 });
  const name = await page.textContent("#ai-name");
  if (!name || name === "your assistant") throw new Error("no assistant name shown");
  await page.screenshot({ path: join(shots, "3-sections.png") });

  await page.fill("#message", "What do you remember about my work?");
  await page.click("#chat button");
  await page.waitForFunction(() => {
    const replies = document.querySelectorAll(".msg.reply span:last-child");
    return replies.length && replies[replies.length - 1].textContent.length > 20;
  }, null, { timeout: 30000 });
  const reply = await page.textContent(".msg.reply span:last-child");
  if (!reply.includes("Offline")) throw new Error("the streamed reply is not the offline engine's: " + reply);
  await page.waitForFunction(() => document.querySelector("#facts").children.length > 0, null, { timeout: 60000 });
  await page.screenshot({ path: join(shots, "4-chat-and-memory.png") });
  const error = await page.textContent("#error");
  if (error) throw new Error("the page shows an error: " + error);

  // A larger import; the server killed while it runs, then started again.
  const larger = join(work, "larger.zip");
  execFileSync(bin, ["generate", larger, "--size", "40MB", "--seed", "10"], { env, stdio: ["ignore", "ignore", "inherit"] });
  await page.setInputFiles("#file", larger);
  await page.waitForFunction(() => /Import processing|full pass processing/.test(document.body.textContent), null, { timeout: 60000 });
  await page.screenshot({ path: join(shots, "5-importing.png") });
  server.kill("SIGKILL");
  await new Promise((r) => server.on("exit", r));
  server = await serve();
  await page.reload();
  await page.waitForFunction(() => /full pass complete/.test(document.querySelector("#full-words").textContent)
    && /Import complete/.test(document.querySelector("#import-words").textContent), null, { timeout: 120000 });
  await page.screenshot({ path: join(shots, "6-continued-after-kill.png") });
  console.log(`browser: ok (${name}; reply of ${reply.length} characters; an import continued after SIGKILL; screenshots in ${shots})`);
} catch (e) {
  failed = true;
  console.error("browser: FAILED:", e.message);
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
process.exit(failed ? 1 : 0);
