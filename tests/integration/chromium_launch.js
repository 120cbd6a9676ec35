// Starts headless Chromium (Debian `chromium`, or $CHROMIUM) for the
// browser tests, through puppeteer-core. The profile goes in
// $CHROMIUM_PROFILE when set, so that a test can find (and kill) the
// browser by that path whatever happened to the script
// (conftest.run_in_chromium does).
'use strict';
const puppeteer = require('puppeteer-core');

module.exports = function launchChromium() {
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses
  // to start.
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: process.env.CHROMIUM_PROFILE,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
};
