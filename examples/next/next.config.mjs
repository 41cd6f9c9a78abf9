/** @type {import('next').NextConfig} */
export default {
  // Run from the built package as Node imports it (no bundling of latchkey).
  serverExternalPackages: ['latchkey'],
};
