export const metadata = { title: 'latchkey on the Next.js edge runtime' };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
