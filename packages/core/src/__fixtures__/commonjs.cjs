module.exports = function app(req, res) {
  res.end('cjs');
};
module.exports.extra = { fetch: () => new Response('extra') };
