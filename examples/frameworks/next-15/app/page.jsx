export default function Home() {
  return (
    <main>
      <h1>chaussette example</h1>
      <form method="post" action="/form">
        <input name="name" defaultValue="Ada" />
        <button type="submit">Greet</button>
      </form>
    </main>
  );
}
