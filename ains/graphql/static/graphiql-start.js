// Starts GraphiQL on /graphql from the assets served beside this file (no CDN, no inline
// script). Requests carry the headers set in GraphiQL's Headers tab, e.g.
// {"Authorization": "Bearer <api key>"}.
(function () {
  var endpoint = document.body.getAttribute("data-endpoint") || "/graphql";
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    })
  );
})();
